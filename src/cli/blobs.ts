/**
 * `fieldscope blobs sweep [--tenant NAME] [--grace-ms N] [--dry-run]`: deletes the files no record
 * refers to (left by an ingest that failed and whose clean-up failed too), older than the grace
 * period (src/blob/orphan-sweep.ts). The operator's tool: it runs when asked, against the
 * deployment's own stores (DATA_DIR or S3_BUCKET, SQLite or Qdrant), and is safe while servers
 * ingest. BLOB_SWEEP_INTERVAL_MS runs the same sweep inside the server on a timer.
 */
import { parseArgs } from 'node:util';
import { NothingReferencedError, sweepOrphanBlobs, type SweepItem } from '../blob/orphan-sweep.js';
import { loadConfig } from '../config.js';
import { createCore } from '../core/create-core.js';
import { isAppError } from '../errors.js';
import { createLogger } from '../observability/logger.js';
import { DEFAULT_TENANT, tenantNameProblem } from '../tenancy/tenant-spaces.js';
import { TerminalStatus, type OutStream } from './terminal.js';

const USAGE = `Usage: fieldscope blobs sweep [--tenant NAME] [--grace-ms N] [--dry-run] [--force]

Deletes stored files (originals, page renders, thumbnails, photos) that no document or photo
refers to and that were written more than the grace period ago. Such files are left when an
ingest fails after storing its files and deleting them fails too (storage down at that moment).
Safe while servers run and ingest: a file an ingest has just stored is younger than the grace
period, and one it stores again meanwhile is kept. First it removes the invisible records of
unfinished adds (Qdrant: a replica killed mid-ingest) claimed more than INGEST_TIMEOUT_MS + the
grace period ago, so their files go too unless something committed refers to them.
  --tenant NAME   the tenant whose files are swept (default: "default")
  --grace-ms N    keep files written less than N ms ago (default: BLOB_SWEEP_GRACE_MS, 24 h;
                  at least INGEST_TIMEOUT_MS)
  --dry-run       list what would be deleted; delete nothing
  --force         sweep even when no file at all is referenced (refused otherwise: that is what
                  the wrong DATA_DIR, collection prefix or bucket looks like)

Exit codes: 0 done; 1 it could not run; 2 usage error; 3 some files could not be checked or
deleted (listed; rerun later).
`;

export interface BlobsCommandIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
}

function describe(item: SweepItem): string {
  switch (item.outcome) {
    case 'deleted':
      return `deleted       ${item.key}`;
    case 'would-delete':
      return `would delete  ${item.key}`;
    case 'failed':
      return `failed        ${item.key}: ${item.reason ?? 'unknown'}`;
    case 'removed-unfinished':
      return `removed unfinished add  ${item.key}${item.reason ?? ''}`;
    case 'would-remove-unfinished':
      return `would remove unfinished add  ${item.key}${item.reason ?? ''}`;
  }
}

export async function runBlobsCommand(argv: string[], io: Partial<BlobsCommandIO> = {}): Promise<number> {
  const out: BlobsCommandIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  let values: { help?: boolean; tenant?: string; 'grace-ms'?: string; 'dry-run'?: boolean; force?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, tenant: { type: 'string' }, 'grace-ms': { type: 'string' }, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' } },
    }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (positionals.length !== 1 || positionals[0] !== 'sweep') {
    out.stderr.write(`${positionals.length === 0 ? 'Say what to do: sweep' : `Unknown blobs command "${positionals.join(' ')}"; there is: sweep`}\n\n${USAGE}`);
    return 2;
  }
  const tenant = values.tenant ?? DEFAULT_TENANT;
  const problem = tenantNameProblem(tenant);
  if (problem) return void out.stderr.write(`${problem}\n`), 2;
  const graceText = values['grace-ms'];
  if (graceText !== undefined && !/^\d+$/.test(graceText)) return void out.stderr.write(`--grace-ms must be a whole number of milliseconds; got "${graceText}".\n`), 2;

  let core: Awaited<ReturnType<typeof createCore>>;
  let graceMs: number;
  let ingestTimeoutMs: number;
  try {
    const config = loadConfig(out.env);
    graceMs = graceText === undefined ? config.blobSweep.graceMs : Number(graceText);
    ingestTimeoutMs = config.timeouts.ingestMs;
    if (graceMs < config.timeouts.ingestMs) {
      out.stderr.write(`--grace-ms ${graceMs} is shorter than INGEST_TIMEOUT_MS (${config.timeouts.ingestMs}): files an ingest has stored but not yet recorded could go. Give at least ${config.timeouts.ingestMs}.\n`);
      return 2;
    }
    core = await createCore(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
  } catch (error) {
    out.stderr.write(`fieldscope blobs sweep cannot run: ${isAppError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const terminal = new TerminalStatus(out.stdout);
  try {
    // A remote store (Qdrant) must answer before "no record refers to it" means anything.
    await core.storeReady;
    const space = await core.spaces.get(tenant);
    const started = Date.now();
    const summary = await sweepOrphanBlobs({
      blobs: space.blobs,
      isReferenced: (key) => space.store.isBlobReferenced(key),
      graceMs,
      removeUnfinished: (o) => space.store.removeUnfinishedAdds(o),
      ingestTimeoutMs,
      dryRun: values['dry-run'] === true,
      force: values.force === true,
      onItem: (item) => terminal.line(describe(item)),
    });
    terminal.clear();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const verb = values['dry-run'] ? 'would be deleted' : 'deleted';
    out.stdout.write(`${summary.unfinished} unfinished adds older than INGEST_TIMEOUT_MS + grace ${values['dry-run'] ? 'would be removed' : 'removed'}; ${summary.scanned} files: ${summary.orphans} unreferenced ${verb}, ${summary.referenced} referenced, ${summary.recent} within the grace period, ${summary.failed} failed (${seconds} s)\n`);
    return summary.failed > 0 ? 3 : 0;
  } catch (error) {
    terminal.clear();
    out.stderr.write(`fieldscope blobs sweep stopped: ${isAppError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}\n${error instanceof NothingReferencedError ? '' : 'Nothing still referenced was deleted; rerun it to go on.\n'}`);
    return 1;
  } finally {
    await core.close();
  }
}
