/**
 * `fieldscope models list` and `fieldscope models pull <name> [--dir DIR] [--base-url URL] [--allow-unverified]`.
 *
 * Progress goes to stderr (a bar on a TTY, a plain line every few seconds otherwise); listings and the
 * per-file summary go to stdout. Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pullModel, sourceBaseUrl, type HubOptions, type PulledFile, type PullProgressEvent } from '../models/download.js';
import { ModelError, ModelDownloadAbortedError } from '../models/errors.js';
import { loadConfig, type Config } from '../config.js';
import { TerminalStatus, type OutStream } from './terminal.js';
import { listManifests, loadManifest, manifestTotalSize, MANIFESTS_DIR, MODEL_MARKER_FILE, type ManifestLookupOptions } from '../models/manifest.js';

export interface ModelsCommandIO {
  stdout: OutStream;
  stderr: OutStream;
  env: Record<string, string | undefined>;
  /** When given, the command does not install its own SIGINT handler. */
  signal?: AbortSignal;
  /** Injected into pullModel (tests). */
  fetch?: typeof globalThis.fetch;
}

const USAGE = `Usage:
  fieldscope models list [--dir DIR]
  fieldscope models pull <name|manifest.json> [--dir DIR] [--base-url URL] [--allow-unverified]

Options:
  --dir DIR             models folder (default: $MODELS_DIR, else <$DATA_DIR or ./data>/models)
  --base-url URL        download from this mirror instead of the manifest's source (default: $MODEL_BASE_URL)
  --allow-unverified    install files whose manifest has no sha256 (they cannot be checked)
  -h, --help            show this help
`;

export async function runModelsCommand(argv: string[], io: Partial<ModelsCommandIO> = {}): Promise<number> {
  const out: ModelsCommandIO = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    ...(io.signal ? { signal: io.signal } : {}),
    ...(io.fetch ? { fetch: io.fetch } : {}),
  };

  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    out.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [sub, ...args] = positionals;
  if (values.help === true) {
    out.stdout.write(USAGE);
    return 0;
  }
  // Defaults come from the one validated configuration (MODELS_DIR, DATA_DIR, MODEL_BASE_URL, MODEL_MANIFESTS_DIR).
  let config: Config;
  try {
    config = loadConfig(out.env);
  } catch (err) {
    out.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const modelsDir = path.resolve(nonEmpty(values.dir) ?? config.models.dir);
  const manifests = config.models.manifestsDir ? { dir: config.models.manifestsDir } : {};

  switch (sub) {
    case 'list':
      if (args.length > 0) return usageError(out, `"models list" takes no arguments`);
      return listCommand(out, modelsDir, manifests);
    case 'pull': {
      if (args.length !== 1 || args[0] === undefined) return usageError(out, `"models pull" takes exactly one model name`);
      const baseUrl = values['base-url'] ?? config.models.baseUrl;
      if (baseUrl !== undefined && !isHttpUrl(baseUrl)) return usageError(out, `--base-url must be an http(s) URL, got "${baseUrl}"`);
      return pullCommand(out, args[0], modelsDir, baseUrl, values['allow-unverified'] === true, manifests, config.models.hub);
    }
    case undefined:
      out.stderr.write(USAGE);
      return 2;
    default:
      return usageError(out, `Unknown models command "${sub}"`);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      dir: { type: 'string' },
      'base-url': { type: 'string' },
      'allow-unverified': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function usageError(io: ModelsCommandIO, message: string): number {
  io.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}

async function listCommand(io: ModelsCommandIO, modelsDir: string, manifests: ManifestLookupOptions): Promise<number> {
  const entries = await listManifests(manifests);
  if (entries.length === 0) {
    io.stdout.write(`No model manifests in ${MANIFESTS_DIR}\n`);
    return 0;
  }
  const rows: string[][] = [];
  let failed = false;
  for (const entry of entries) {
    if (entry.manifest === null) {
      failed = true;
      rows.push([entry.name, '', '', 'INVALID', entry.error.issues[0] ?? entry.error.message]);
      continue;
    }
    const m = entry.manifest;
    const total = manifestTotalSize(m);
    const modelDir = path.join(modelsDir, m.name);
    const state = existsSync(path.join(modelDir, MODEL_MARKER_FILE)) ? 'installed' : existsSync(modelDir) ? 'incomplete' : '-';
    const unverified = m.files.some((f) => f.sha256 === null) ? ' [unverified files]' : '';
    rows.push([m.name, `${total.complete ? '' : '>'}${formatBytes(total.bytes)}`, `dim ${m.embeddingDim}`, state, `${m.description ?? ''}${unverified}`]);
  }
  io.stdout.write(`Models (manifests in ${manifests.dir ?? MANIFESTS_DIR}; installs in ${modelsDir}):\n`);
  io.stdout.write(formatTable(rows, '  '));
  return failed ? 1 : 0;
}

async function pullCommand(
  io: ModelsCommandIO,
  nameOrPath: string,
  modelsDir: string,
  baseUrl: string | undefined,
  allowUnverified: boolean,
  manifests: ManifestLookupOptions,
  hub: HubOptions,
): Promise<number> {
  let controller: AbortController | undefined;
  let onSigint: (() => void) | undefined;
  let signal = io.signal;
  if (!signal) {
    const ac = new AbortController();
    controller = ac;
    onSigint = () => ac.abort(new Error('interrupted by signal'));
    process.once('SIGINT', onSigint);
    process.once('SIGTERM', onSigint);
    signal = ac.signal;
  }

  const reporter = new ProgressReporter(io.stderr);
  try {
    const manifest = await loadManifest(nameOrPath, manifests);
    if (allowUnverified && manifest.files.some((f) => f.sha256 === null)) {
      io.stderr.write(`warning: installing files without a pinned sha256: ${manifest.files.filter((f) => f.sha256 === null).map((f) => f.path).join(', ')}\n`);
    }
    io.stderr.write(`Pulling ${manifest.name} (${manifest.source.repo}@${manifest.source.revision.slice(0, 12)}) from ${sourceBaseUrl(manifest.source.baseUrl, baseUrl, hub.endpoint)}\n`);
    const result = await pullModel(manifest, {
      modelsDir,
      hub,
      ...(baseUrl === undefined ? {} : { baseUrl }),
      ...(io.fetch ? { fetch: io.fetch } : {}),
      signal,
      allowUnverified,
      onProgress: (event) => reporter.handle(event),
    });
    reporter.finish();
    const total = result.files.reduce((n, f) => n + f.size, 0);
    io.stdout.write(
      `Pulled ${result.name} into ${result.dir}: ${formatBytes(total)} in ${result.files.length} files, ` +
        `${formatBytes(result.bytesTransferred)} transferred in ${formatDuration(result.durationMs)}\n`,
    );
    io.stdout.write(summaryTable(result.files));
    return 0;
  } catch (err) {
    reporter.finish();
    const done = reporter.completed();
    if (done.length > 0) {
      io.stdout.write('Completed before the failure:\n');
      io.stdout.write(summaryTable(done));
    }
    if (err instanceof ModelDownloadAbortedError || controller?.signal.aborted === true) {
      io.stderr.write('Interrupted. Partial files are kept; run the same command again to resume.\n');
      return 130;
    }
    if (err instanceof ModelError) {
      io.stderr.write(`error [${err.code}]: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  } finally {
    if (onSigint) {
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGTERM', onSigint);
    }
  }
}

function summaryTable(files: PulledFile[]): string {
  const rows = files.map((f) => [
    f.status,
    formatBytes(f.size),
    f.verified ? `sha256 ${f.sha256.slice(0, 12)} ok` : `sha256 ${f.sha256.slice(0, 12)} UNVERIFIED`,
    f.bytesTransferred > 0 ? `${formatBytes(f.bytesTransferred)} in ${formatDuration(f.durationMs)}` : '-',
    f.path,
  ]);
  return formatTable([['status', 'size', 'checksum', 'transferred', 'file'], ...rows], '  ');
}

const BAR_WIDTH = 24;
const TTY_REDRAW_MS = 100;
const PLAIN_LINE_MS = 5_000;
const SPEED_WINDOW_MS = 5_000;

/** Renders pull events: a redrawn bar on a TTY, periodic plain lines otherwise. */
class ProgressReporter {
  private readonly tty: boolean;
  private readonly terminal: TerminalStatus;
  private lastDraw = 0;
  private samples: [number, number][] = [];
  private readonly done: PulledFile[] = [];

  constructor(stream: OutStream) {
    this.terminal = new TerminalStatus(stream);
    this.tty = this.terminal.tty;
  }

  completed(): PulledFile[] {
    return [...this.done];
  }

  handle(event: PullProgressEvent): void {
    const now = Date.now();
    switch (event.type) {
      case 'plan': {
        const missing = event.files.filter((f) => !f.present);
        const bytes = missing.reduce((n, f) => n + (f.size ?? 0), 0);
        this.line(
          missing.length === 0
            ? `All ${event.files.length} files already present and verified in ${event.dir}`
            : `${missing.length} of ${event.files.length} files to fetch (${formatBytes(bytes)}) into ${event.dir}`,
        );
        break;
      }
      case 'check':
        if (event.bytes >= 10_000_000) this.status(`checking ${formatBytes(event.bytes)} already on disk…`, true);
        break;
      case 'start':
        this.samples = [[now, 0]];
        // A bar appears at once; a plain line only once the file has been going for a while.
        this.lastDraw = this.tty ? 0 : now;
        this.line(
          `[${event.index + 1}/${event.count}] ${event.file}` +
            (event.size === null ? '' : ` (${formatBytes(event.size)})`) +
            (event.offset > 0 ? `, resuming from ${formatBytes(event.offset)}` : ''),
        );
        break;
      case 'progress': {
        this.samples.push([now, event.transferred]);
        while (this.samples.length > 2 && (this.samples[0]?.[0] ?? now) < now - SPEED_WINDOW_MS) this.samples.shift();
        const interval = this.tty ? TTY_REDRAW_MS : PLAIN_LINE_MS;
        if (now - this.lastDraw < interval) break;
        this.lastDraw = now;
        this.status(this.progressText(event, this.speed()), false);
        break;
      }
      case 'restart':
        this.line(`  ${event.file}: ${event.reason}`);
        break;
      case 'retry':
        this.line(`  ${event.file}: ${event.error.message}; retry ${event.attempt} in ${formatDuration(event.delayMs)}`);
        break;
      case 'done': {
        this.done.push(event.result);
        const r = event.result;
        const how = r.status === 'skipped' ? 'already present' : `${r.status}, ${formatBytes(r.bytesTransferred)} in ${formatDuration(r.durationMs)}`;
        this.line(`  ${r.verified ? 'ok' : 'UNVERIFIED'} ${r.path} (${formatBytes(r.size)}, ${how})`);
        break;
      }
    }
  }

  finish(): void {
    this.terminal.clear();
  }

  private speed(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last[0] <= first[0]) return 0;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  private progressText(event: Extract<PullProgressEvent, { type: 'progress' }>, speed: number): string {
    const rate = `${formatBytes(speed)}/s`;
    if (event.size === null || event.size === 0) return `  ${event.file}: ${formatBytes(event.received)} at ${rate}`;
    const fraction = Math.min(1, event.received / event.size);
    const pct = `${(fraction * 100).toFixed(1)}%`;
    const eta = speed > 0 ? ` ETA ${formatDuration(((event.size - event.received) / speed) * 1000)}` : '';
    const numbers = `${pct.padStart(6)} ${formatBytes(event.received)} / ${formatBytes(event.size)}  ${rate}${eta}`;
    if (!this.tty) return `  ${event.file}: ${numbers}`;
    // Fit the bar into the terminal; drop it on a very narrow one rather than cutting the numbers.
    const barWidth = Math.min(BAR_WIDTH, this.columns() - numbers.length - 6);
    if (barWidth < 8) return `  ${numbers}`;
    const filled = Math.round(fraction * barWidth);
    return `  [${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}] ${numbers}`;
  }

  private columns(): number {
    return this.terminal.columns();
  }

  private status(text: string, ttyOnly: boolean): void {
    this.terminal.status(text, ttyOnly);
  }

  private line(text: string): void {
    this.terminal.line(text);
  }
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

function formatTable(rows: string[][], indent: string): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd())
    .join('\n')
    .concat('\n');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
