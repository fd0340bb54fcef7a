/**
 * `fieldscope backfill image-keys [--tenant NAME]`: computes the near-copy keys (perceptual hash,
 * or layout signature for pages of text and scans) of page renders and photos stored before those
 * keys existed, so a copy of them is found whatever the model (src/ingest/backfill-image-keys.ts).
 * One line per record, a summary, progress on a terminal. A command and not a step of opening the
 * store: the keys are computed from the original files, which the store does not hold, and
 * rendering a large knowledge base's PDFs again takes long enough to deserve progress and to be
 * run when the operator chooses. Resumable and safe while the server runs.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createCore } from '../core/create-core.js';
import { isAppError } from '../errors.js';
import type { BackfillItem } from '../ingest/backfill-image-keys.js';
import { createLogger } from '../observability/logger.js';
import { sqliteFile } from '../store/create-store.js';
import { DEFAULT_TENANT, tenantDataDir, tenantNameProblem } from '../tenancy/tenant-spaces.js';
import { TerminalStatus, type OutStream } from './terminal.js';

const USAGE = `Usage: fieldscope backfill image-keys [--tenant NAME]

Computes the near-copy keys of page renders and photos stored before this version kept them (a
perceptual hash, or for pages of text and scans a layout signature), from the original files in
the file store. Until then a photo of such a page or a copy of such a photo is found only by the
model. Safe to rerun and to run while the server serves: only records without keys are read, and
each is written on its own. Run it once after upgrading.
  --tenant NAME   the tenant whose knowledge base is completed (default: "default")

Exit codes: 0 done (every record has its keys); 1 it could not run; 2 usage error; 3 some records
failed (listed; the rest are done; rerun after fixing the cause).
`;

export interface BackfillCommandIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
}

function describe(item: BackfillItem): string {
  const what = item.target.kind === 'page' ? `document ${item.target.documentId} page ${item.target.pageNumber}` : `photo ${item.target.photoId}`;
  switch (item.outcome) {
    case 'hash':
      return `hashed    ${what}`;
    case 'layout':
      return `layout    ${what} (mostly white: layout signature)`;
    case 'gone':
      return `gone      ${what} (deleted meanwhile)`;
    case 'failed':
      return `failed    ${what}: ${item.reason ?? 'unknown'}`;
  }
}

/** Why there is nothing to backfill at DATA_DIR for this tenant (SQLite store), or null. */
function missingKnowledgeBase(dataDir: string, tenant: string): string | null {
  const file = sqliteFile(tenantDataDir(dataDir, tenant));
  if (existsSync(file)) return null;
  const whose = tenant === DEFAULT_TENANT ? 'the default tenant' : `tenant "${tenant}"`;
  return `fieldscope backfill cannot run: no knowledge base of ${whose} at ${file} (DATA_DIR=${dataDir}); nothing was created. Check DATA_DIR and --tenant.`;
}

export async function runBackfillCommand(argv: string[], io: Partial<BackfillCommandIO> = {}): Promise<number> {
  const out: BackfillCommandIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  let values: { help?: boolean; tenant?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' }, tenant: { type: 'string' } } }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (positionals.length !== 1 || positionals[0] !== 'image-keys') {
    out.stderr.write(`${positionals.length === 0 ? 'Say what to backfill: image-keys' : `Unknown backfill "${positionals.join(' ')}"; there is: image-keys`}\n\n${USAGE}`);
    return 2;
  }
  const tenant = values.tenant ?? DEFAULT_TENANT;
  const problem = tenantNameProblem(tenant);
  if (problem) return void out.stderr.write(`${problem}\n`), 2;

  let core: Awaited<ReturnType<typeof createCore>>;
  try {
    const config = loadConfig(out.env);
    // A backfill completes an existing knowledge base: opening one that is not there would create
    // it empty and report "0 hashed" (a mistyped DATA_DIR or tenant looking like a finished run).
    const missing = config.store.kind === 'sqlite' ? missingKnowledgeBase(config.dataDir, tenant) : null;
    if (missing) return void out.stderr.write(`${missing}\n`), 1;
    core = await createCore(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  } catch (error) {
    out.stderr.write(`fieldscope backfill cannot run: ${isAppError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const terminal = new TerminalStatus(out.stdout);
  try {
    const { ingest } = (await core.spaces.get(tenant)).services;
    const started = Date.now();
    let done = 0;
    const summary = await ingest.backfillImageKeys({
      onItem: (item) => {
        done++;
        terminal.line(describe(item));
        terminal.status(`${done} records`, true);
      },
    });
    terminal.clear();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    out.stdout.write(`${summary.hash} hashed, ${summary.layout} by layout, ${summary.gone} gone, ${summary.failed} failed (${seconds} s)\n`);
    return summary.failed > 0 ? 3 : 0;
  } catch (error) {
    terminal.clear();
    out.stderr.write(`fieldscope backfill stopped: ${isAppError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}\nRerun it to go on: finished records are kept.\n`);
    return 1;
  } finally {
    await core.close();
  }
}
