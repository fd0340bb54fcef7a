/**
 * `fieldscope ingest <files or folders…>`: adds files to the knowledge base in DATA_DIR, one
 * line per item (ingested / duplicate / failed and why), a progress bar on a terminal, and a
 * summary. Safe to rerun: files already present are reported as duplicates. A bad file is
 * reported and skipped, and the run goes on; the exit code then says so (EXIT below), so a
 * script notices without parsing the report.
 *
 * Images become reference photos (a `captions.json` beside them gives captions and metadata,
 * as in demo/photos); everything else is ingested as a document.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { isAppError } from '../errors.js';
import { detectFileType } from '../ingest/detect.js';
import { createLogger } from '../observability/logger.js';
import type { IngestService } from '../ingest/ingest-service.js';
import { createCore } from '../core/create-core.js';
import { DEFAULT_TENANT, tenantNameProblem } from '../tenancy/tenant-spaces.js';
import { Slots } from '../workers/slots.js';
import { TerminalStatus, type OutStream } from './terminal.js';

const USAGE = `Usage: fieldscope ingest <files or folders…> [--tenant NAME] [--images-as-documents]

Adds documents (PDF, Markdown, HTML, text) and photos to the knowledge base in DATA_DIR.
Folders are walked recursively. Images become reference photos; a captions.json beside them
({"valve.jpg": {"caption": "...", "metadata": {...}}}) gives their captions.
  --tenant NAME           the tenant whose knowledge base receives the files (default: "default",
                          the open server's; with API keys, the tenant named in the keys file)
  --images-as-documents   ingest images as one-page scanned documents instead of photos
  --concurrency N         photos ingested at once, so they share inference batches and the
                          cores stay busy (default CLIP_IMAGE_BATCH × CLIP_IMAGE_WORKERS; documents
                          go one at a time, each already fills the cores with its pages)

Exit codes: 0 every input was ingested or was already there; 1 it could not run (configuration,
model, store); 2 usage error; 3 at least one input failed (the others were ingested).
`;

/** Exit codes (documented in USAGE and the README). */
export const EXIT = { ok: 0, cannotRun: 1, usage: 2, someFailed: 3 } as const;

export interface IngestCommandIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
}

type Outcome = 'ingested' | 'duplicate' | 'failed';

async function collectFiles(inputs: string[]): Promise<{ files: string[]; missing: string[] }> {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = async (p: string): Promise<void> => {
    const s = await stat(p).catch(() => null);
    if (!s) return void missing.push(p);
    if (s.isFile()) return void files.push(p);
    if (!s.isDirectory()) return;
    for (const entry of (await readdir(p)).sort()) {
      if (entry.startsWith('.') || entry === 'captions.json') continue;
      await walk(path.join(p, entry));
    }
  };
  for (const input of inputs) await walk(path.resolve(input));
  return { files, missing };
}

async function captionsFor(file: string, cache: Map<string, Record<string, unknown>>): Promise<{ caption: string | null; metadata: Record<string, unknown> }> {
  const dir = path.dirname(file);
  if (!cache.has(dir)) {
    const text = await readFile(path.join(dir, 'captions.json'), 'utf8').catch(() => '{}');
    cache.set(dir, JSON.parse(text) as Record<string, unknown>);
  }
  const entry = cache.get(dir)![path.basename(file)];
  if (typeof entry === 'string') return { caption: entry, metadata: {} };
  if (entry && typeof entry === 'object') {
    const e = entry as { caption?: unknown; metadata?: unknown };
    return { caption: typeof e.caption === 'string' ? e.caption : null, metadata: (e.metadata as Record<string, unknown>) ?? {} };
  }
  return { caption: null, metadata: {} };
}

export async function runIngestCommand(argv: string[], io: Partial<IngestCommandIO> = {}): Promise<number> {
  const out: IngestCommandIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  let values: { help?: boolean; tenant?: string; 'images-as-documents'?: boolean; concurrency?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' }, tenant: { type: 'string' }, 'images-as-documents': { type: 'boolean' }, concurrency: { type: 'string' } } }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (positionals.length === 0) return void out.stderr.write(USAGE), 2;
  const concurrencyArg = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrencyArg !== undefined && !(Number.isInteger(concurrencyArg) && concurrencyArg >= 1 && concurrencyArg <= 256)) {
    return void out.stderr.write(`--concurrency must be a whole number from 1 to 256, got ${values.concurrency}\n`), 2;
  }
  const tenant = values.tenant ?? DEFAULT_TENANT;
  const problem = tenantNameProblem(tenant);
  if (problem) return void out.stderr.write(`${problem}\n`), 2;

  let core: Awaited<ReturnType<typeof createCore>>;
  let ingest: IngestService;
  let concurrency = concurrencyArg ?? 1;
  try {
    const config = loadConfig(out.env);
    concurrency = concurrencyArg ?? config.encoder.imageBatch * config.encoder.imageWorkers;
    // Logs go to stderr at warn level: stdout carries the per-item report.
    core = await createCore(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
    try {
      ingest = (await core.spaces.get(tenant)).services.ingest;
    } catch (error) {
      await core.close();
      throw error;
    }
  } catch (error) {
    out.stderr.write(`fieldscope ingest cannot run: ${isAppError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }

  const terminal = new TerminalStatus(out.stdout);
  const counts: Record<Outcome, number> = { ingested: 0, duplicate: 0, failed: 0 };
  const captionCache = new Map<string, Record<string, unknown>>();
  try {
    const { files, missing } = await collectFiles(positionals);
    for (const m of missing) {
      terminal.line(`failed     ${m}: no such file or folder`);
      counts.failed++;
    }
    const started = Date.now();
    // Up to `concurrency` files in flight (documents one at a time); report lines in input order.
    const documentSlot = new Slots(1);
    const photosInFlight = new Map<string, Promise<unknown>>();
    const lines: (string | undefined)[] = [];
    let printed = 0;
    let finished = 0;
    const ingestOne = async (file: string): Promise<string> => {
      const name = path.relative(process.cwd(), file) || file;
      try {
        const bytes = await readFile(file);
        const isImage = bytes.length > 0 && detectFileType(bytes, file).kind === 'image';
        if (isImage && !values['images-as-documents']) {
          const { caption, metadata } = await captionsFor(file, captionCache);
          // The same photo twice in one run: the second waits for the first, so it is a duplicate, not a race.
          const hash = createHash('sha256').update(bytes).digest('hex');
          const earlier = photosInFlight.get(hash);
          const mine = (earlier ?? Promise.resolve()).then(() => ingest.ingestPhoto({ bytes, filename: path.basename(file), caption, metadata }));
          photosInFlight.set(hash, mine.catch(() => undefined));
          const { photo, created } = await mine;
          counts[created ? 'ingested' : 'duplicate']++;
          return `${created ? 'ingested ' : 'duplicate'}  ${name}  photo ${photo.id}${caption ? `: ${caption.slice(0, 60)}` : ''}`;
        }
        const { document, created } = await documentSlot.run(() => ingest.ingestDocument({ bytes, filename: path.basename(file) }));
        counts[created ? 'ingested' : 'duplicate']++;
        return `${created ? 'ingested ' : 'duplicate'}  ${name}  "${document.title}", ${document.pageCount} page${document.pageCount === 1 ? '' : 's'} (${document.id})`;
      } catch (error) {
        counts.failed++;
        const why = isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
        return `failed     ${name}: ${why}`;
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, files.length) }, async () => {
        while (next < files.length) {
          const index = next++;
          lines[index] = await ingestOne(files[index]!);
          finished++;
          while (lines[printed] !== undefined) terminal.line(lines[printed++]!);
          const current = path.relative(process.cwd(), files[printed] ?? files[index]!);
          terminal.status(terminal.bar(finished, files.length, `${finished}/${files.length}  ${current}`), true);
        }
      }),
    );
    terminal.clear();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    out.stdout.write(`${counts.ingested} ingested, ${counts.duplicate} duplicate, ${counts.failed} failed (${files.length} files in ${seconds} s)\n`);
    return counts.failed > 0 ? EXIT.someFailed : EXIT.ok;
  } finally {
    await core.close();
  }
}
