/**
 * `fieldscope keys add|list|revoke`: manages the API keys file (AUTH_KEYS_FILE, or --file).
 * A new key is printed once and only its sha256 is stored. Writes are atomic (temp file +
 * rename, mode 0600), and the server picks changes up within a second.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateKey, hashKey, parseKeysFile, ROLES, type KeyEntry, type Role } from '../auth/api-keys.js';
import { loadConfig } from '../config.js';
import type { OutStream } from './terminal.js';

const USAGE = `Usage:
  fieldscope keys add --name NAME --role technician|agent|admin [--tenant TENANT] [--file FILE]
  fieldscope keys list [--file FILE]
  fieldscope keys revoke NAME [--file FILE]
The file defaults to AUTH_KEYS_FILE.
Exit codes: 0 done; 1 the keys file could not be read or written; 2 usage error (unknown
subcommand, missing or invalid option, a name that exists already or does not exist).
`;

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

function readEntries(file: string): KeyEntry[] {
  return existsSync(file) ? parseKeysFile(readFileSync(file, 'utf8'), file) : [];
}

function writeEntries(file: string, entries: KeyEntry[]): void {
  // The first key may come before the server ever made DATA_DIR (a fresh checkout).
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ keys: entries }, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export async function runKeysCommand(argv: string[], io: { stdout?: OutStream; stderr?: OutStream; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let values: { name?: string; role?: string; tenant?: string; file?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, role: { type: 'string' }, tenant: { type: 'string' }, file: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void stdout.write(USAGE), 0;
  const file = values.file ? path.resolve(values.file) : loadConfig(io.env ?? process.env).auth.keysFile;
  if (!file) return void stderr.write(`No keys file: set AUTH_KEYS_FILE or pass --file.\n\n${USAGE}`), 2;
  const [sub, ...rest] = positionals;
  try {
    const entries = readEntries(file);
    switch (sub) {
      case 'add': {
        const { name, role } = values;
        if (!name || !role) {
          const missing = [!name && '--name NAME', !role && `--role ${ROLES.join('|')}`].filter(Boolean);
          return void stderr.write(`keys add needs ${missing.join(' and ')}.\n\n${USAGE}`), 2;
        }
        if (!isRole(role)) return void stderr.write(`Invalid role "${role}": the roles are ${ROLES.join(', ')}.\n`), 2;
        if (entries.some((e) => e.name === name)) return void stderr.write(`A key named "${name}" already exists.\n`), 2;
        const key = generateKey();
        const entry: KeyEntry = { name, role, tenant: values.tenant ?? 'default', keyHash: hashKey(key), revoked: false, createdAt: new Date().toISOString() };
        writeEntries(file, [...entries, ...parseKeysFile(JSON.stringify({ keys: [entry] }), file)]);
        stdout.write(`Added "${entry.name}" (${entry.role}, tenant ${entry.tenant}). The key, shown only now:\n${key}\n`);
        return 0;
      }
      case 'list':
        for (const e of entries) stdout.write(`${e.name}\t${e.role}\t${e.tenant}\t${e.revoked ? 'revoked' : 'active'}\t${e.createdAt ?? ''}\n`);
        return 0;
      case 'revoke': {
        const name = rest[0];
        const entry = entries.find((e) => e.name === name);
        if (!name) return void stderr.write(`keys revoke needs the NAME of a key.\n\n${USAGE}`), 2;
        if (!entry) return void stderr.write(`No key named "${name}" in ${file} (see \`fieldscope keys list\`).\n`), 2;
        writeEntries(file, entries.map((e) => (e.name === name ? { ...e, revoked: true } : e)));
        stdout.write(`Revoked "${name}".\n`);
        return 0;
      }
      default:
        stderr.write(`${sub === undefined ? 'keys needs a subcommand' : `Unknown keys subcommand "${sub}"`}: add, list or revoke.\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
