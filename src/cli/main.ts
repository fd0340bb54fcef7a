/**
 * `fieldscope <command> …` entry point. Run with `npx tsx src/cli/main.ts models list`.
 * Keep this a small switch: each command lives in its own module and returns an exit code.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBackfillCommand } from './backfill.js';
import { runEvalCommand } from './eval.js';
import { runIngestCommand } from './ingest.js';
import { runBlobsCommand } from './blobs.js';
import { runKeysCommand } from './keys.js';
import { runMigrateCommand } from './migrate.js';
import { runModelsCommand } from './models.js';

const USAGE = `Usage: fieldscope <command> [options]

Commands:
  models list                 list the known model manifests and what is installed
  models pull <name>          download a model (fieldscope models --help for options)
  ingest <files or folders…>  add documents and photos to the knowledge base in DATA_DIR
  keys add|list|revoke        manage API keys (AUTH_KEYS_FILE)
  migrate --to qdrant         copy the embedded knowledge base into Qdrant (QDRANT_URL)
  migrate --to scale          copy all embedded state to Qdrant, Postgres and S3, verified
  backfill image-keys         compute near-copy keys of pages and photos stored before they existed
  blobs sweep                 delete stored files no record refers to, past a grace period
  eval <labelled-folder>      measure identification and near-duplicate detection on a labelled set
  eval search [set-folder]    measure search (recall@k, MRR, nDCG per signal and fused) on a labelled query set
  eval ocr [set-folder]       measure reading (character accuracy, identifier and code recall) on photographed plates, labels, codes and scans

Options: --version (-v) prints the version; --help (-h) this text; <command> --help its own.
Exit codes: 0 done; 1 failed (the command says why); 2 usage error; ingest 3: some inputs failed.
`;

/** The version in package.json (read at run time: the CLI runs from sources with tsx). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'models':
      return runModelsCommand(rest);
    case 'ingest':
      return runIngestCommand(rest);
    case 'keys':
      return runKeysCommand(rest);
    case 'migrate':
      return runMigrateCommand(rest);
    case 'eval':
      return runEvalCommand(rest);
    case 'blobs':
      return runBlobsCommand(rest);
    case 'backfill':
      return runBackfillCommand(rest);
    case '--version':
    case '-v':
    case 'version':
      process.stdout.write(`fieldscope ${version()}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    case undefined:
      process.stderr.write(USAGE);
      return 2;
    default:
      process.stderr.write(`Unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
