/**
 * `fieldscope migrate --to qdrant`: copies the embedded knowledge base (DATA_DIR/fieldscope.db)
 * into Qdrant, record by record with its vectors, keeping ids, dates and blob keys (the files stay
 * where they are: point the Qdrant deployment at the same blob folder).
 *
 * Resumable: a document or photo already committed in Qdrant (same file) is skipped, and each
 * record is added atomically (an interrupted one is completed by the next run). When Qdrant stops
 * answering, the run stops and says how to resume. At the end the counts of documents, pages,
 * chunks and photos in Qdrant are compared with the SQLite store's.
 *
 * The SQLite file is opened read-only: the server may keep serving from it meanwhile (records it
 * adds during the run are copied by a rerun).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { isAppError } from '../errors.js';
import { sqliteFile, type QdrantStoreSettings } from '../store/create-store.js';
import { QdrantKnowledgeStore, type QdrantStoreStats } from '../store/qdrant/qdrant-knowledge-store.js';
import { SqliteKnowledgeExport } from '../store/sqlite/sqlite-export.js';
import { DEFAULT_TENANT, qdrantTenantName, tenantDataDir, tenantNameProblem } from '../tenancy/tenant-spaces.js';
import { TerminalStatus, type OutStream } from './terminal.js';

const USAGE = `Usage: fieldscope migrate --to qdrant [options]

Copies one tenant's embedded knowledge base in DATA_DIR into Qdrant, with progress. Safe to
rerun: records already in Qdrant are skipped, an interrupted run is resumed. Counts are verified
at the end. Run it once per tenant.
  --to qdrant                the target (the only one)
  --qdrant-url <url>         Qdrant's REST URL (default: QDRANT_URL)
  --qdrant-api-key <key>     (default: QDRANT_API_KEY)
  --collection-prefix <p>    (default: QDRANT_COLLECTION_PREFIX, else "fieldscope_")
  --tenant <name>            the tenant to copy (default: "default", stored in Qdrant under
                             QDRANT_TENANT; any other tenant is stored under its own name, as
                             the server reads it)
  --batch <n>                most points per upsert request (default 64)
`;

export interface MigrateCommandIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  /** Qdrant settings from the loaded configuration; command-line options win over them. */
  qdrant?: Partial<QdrantStoreSettings>;
}

type Outcome = 'copied' | 'skipped' | 'failed';

/**
 * Qdrant settings from the environment, for as long as config.ts does not carry them: the
 * composition root should pass `io.qdrant` from the validated configuration instead.
 */
function qdrantSettingsFromEnv(env: NodeJS.ProcessEnv): Partial<QdrantStoreSettings> {
  const value = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const timeout = value('QDRANT_TIMEOUT_MS');
  return {
    url: value('QDRANT_URL'),
    apiKey: value('QDRANT_API_KEY'),
    collectionPrefix: value('QDRANT_COLLECTION_PREFIX'),
    tenant: value('QDRANT_TENANT'),
    timeoutMs: timeout === undefined ? undefined : Number(timeout),
  };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function reason(error: unknown): string {
  return isAppError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

export async function runMigrateCommand(argv: string[], io: Partial<MigrateCommandIO> = {}): Promise<number> {
  const out: MigrateCommandIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env, qdrant: io.qdrant };
  let values: { help?: boolean; to?: string; 'qdrant-url'?: string; 'qdrant-api-key'?: string; 'collection-prefix'?: string; tenant?: string; batch?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        to: { type: 'string' },
        'qdrant-url': { type: 'string' },
        'qdrant-api-key': { type: 'string' },
        'collection-prefix': { type: 'string' },
        tenant: { type: 'string' },
        batch: { type: 'string' },
      },
    }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (values.to !== 'qdrant') {
    out.stderr.write(`${values.to === undefined ? 'Say where to: --to qdrant' : `Unknown target "${values.to}"; the only one is qdrant`}\n\n${USAGE}`);
    return 2;
  }
  const batch = values.batch === undefined ? undefined : Number(values.batch);
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > 10_000)) {
    out.stderr.write(`--batch must be an integer from 1 to 10000; got ${values.batch}\n`);
    return 2;
  }

  let source: SqliteKnowledgeExport;
  let store: QdrantKnowledgeStore;
  try {
    const config = loadConfig(out.env);
    const settings = {
      collectionPrefix: 'fieldscope_',
      ...defined(qdrantSettingsFromEnv(out.env)),
      ...defined(out.qdrant ?? {}),
      ...defined({ url: values['qdrant-url'], apiKey: values['qdrant-api-key'], collectionPrefix: values['collection-prefix'], upsertBatchSize: batch }),
    };
    if (!settings.url) {
      out.stderr.write(`fieldscope migrate: say which Qdrant: set QDRANT_URL or pass --qdrant-url.\n`);
      return 2;
    }
    const tenant = values.tenant ?? DEFAULT_TENANT;
    const problem = tenantNameProblem(tenant);
    if (problem) {
      out.stderr.write(`${problem}\n`);
      return 2;
    }
    source = SqliteKnowledgeExport.open(sqliteFile(tenantDataDir(config.dataDir, tenant)));
    store = new QdrantKnowledgeStore({ ...settings, tenant: qdrantTenantName(tenant, settings.tenant), url: settings.url, dim: source.dim, modelId: source.modelId });
  } catch (error) {
    out.stderr.write(`fieldscope migrate cannot run: ${reason(error)}\n`);
    return 1;
  }

  try {
    try {
      await store.init();
    } catch (error) {
      out.stderr.write(`fieldscope migrate cannot open Qdrant: ${reason(error)}\n`);
      return 1;
    }
    const expected = source.counts();
    const total = expected.documents + expected.photos;
    out.stdout.write(
      `Copying ${expected.documents} documents (${expected.pages} pages, ${expected.chunks} chunks) and ${expected.photos} photos\n  from ${source.file}\n  to   Qdrant ${store.location}\n`,
    );
    const terminal = new TerminalStatus(out.stdout);
    const counts: Record<Outcome, number> = { copied: 0, skipped: 0, failed: 0 };
    const started = Date.now();
    let done = 0;
    const run: { stopped: string | null } = { stopped: null };

    const progress = (label: string) => {
      // Progress on a terminal every record; in a log every 100.
      if (terminal.tty || done % 100 === 0) terminal.status(terminal.bar(done, total, `${done}/${total}  ${label}`), false);
    };
    const copy = async (label: string, existing: () => Promise<{ id: string } | null>, add: () => Promise<{ id: string; created: boolean }>, id: string): Promise<void> => {
      progress(label);
      try {
        const found = await existing();
        if (found) {
          counts.skipped++;
          if (found.id !== id) terminal.line(`skipped  ${label}: the same file is already in Qdrant as ${found.id}`);
        } else {
          const result = await add();
          counts[result.created ? 'copied' : 'skipped']++;
          terminal.line(result.created ? `copied   ${label}` : `skipped  ${label}: the same file is already in Qdrant as ${result.id}`);
        }
      } catch (error) {
        counts.failed++;
        terminal.line(`failed   ${label}: ${reason(error)}`);
        if (isAppError(error) && error.category === 'UNAVAILABLE') run.stopped = reason(error);
      }
      done++;
    };

    for (const doc of source.documents()) {
      const d = doc.document;
      await copy(`document ${d.id} "${d.title}" (${doc.pages.length} page${doc.pages.length === 1 ? '' : 's'})`, () => store.findDocumentByHash(d.contentHash), async () => {
        const r = await store.addDocument(doc);
        return { id: r.document.id, created: r.created };
      }, d.id);
      if (run.stopped) break;
    }
    if (!run.stopped) {
      for (const photo of source.photos()) {
        const p = photo.photo;
        await copy(`photo ${p.id}${p.caption ? ` "${p.caption.slice(0, 50)}"` : ''}`, () => store.findPhotoByHash(p.contentHash), async () => {
          const r = await store.addPhoto(photo);
          return { id: r.photo.id, created: r.created };
        }, p.id);
        if (run.stopped) break;
      }
    }
    terminal.clear();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    out.stdout.write(`${counts.copied} copied, ${counts.skipped} already in Qdrant, ${counts.failed} failed (${done} of ${total} records in ${seconds} s)\n`);
    if (run.stopped) {
      out.stderr.write(`Qdrant stopped answering (${run.stopped}).\nNothing half-written is visible; run \`fieldscope migrate --to qdrant\` again to resume.\n`);
      return 1;
    }
    return verify(expected, await store.stats(), counts.failed, out);
  } catch (error) {
    out.stderr.write(`fieldscope migrate failed: ${reason(error)}\n`);
    return 1;
  } finally {
    source.close();
    await store.close();
  }
}

function verify(expected: QdrantStoreStats, actual: QdrantStoreStats, failed: number, out: MigrateCommandIO): number {
  const kinds = ['documents', 'pages', 'chunks', 'photos'] as const;
  const table = kinds.map((k) => `${k} ${actual[k]}/${expected[k]}`).join(', ');
  const short = kinds.filter((k) => actual[k] < expected[k]);
  if (short.length > 0 || failed > 0) {
    out.stderr.write(`Not verified: Qdrant/SQLite counts are ${table}${failed > 0 ? `; ${failed} records failed` : ''}. Run the migration again to copy what is missing.\n`);
    return 1;
  }
  if (kinds.some((k) => actual[k] > expected[k])) {
    out.stdout.write(`Verified: every record of the SQLite store is in Qdrant (Qdrant/SQLite: ${table}; Qdrant also holds records added to it directly).\n`);
    return 0;
  }
  out.stdout.write(`Verified: Qdrant holds the same ${table.replace(/ (\d+)\/\d+/g, ' $1')} as the SQLite store.\n`);
  return 0;
}
