/**
 * API keys: `Authorization: Bearer <key>`. Keys are listed in a JSON file (AUTH_KEYS_FILE) by
 * name, role and tenant, stored as a sha256 hash (a key is 32 random bytes, so a fast hash is
 * the right tool, as for GitHub or Stripe tokens; no key is ever stored or logged in clear).
 * The file is re-read when it changes, so a revocation takes effect without a restart.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { AppError, ConfigError } from '../errors.js';
import { DEFAULT_TENANT, TENANT_NAME } from '../tenancy/tenant-spaces.js';

export const ROLES = ['technician', 'agent', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  keyName: string;
  role: Role;
  tenant: string;
}

/** Who the caller is when the server runs without a keys file (open, single-tenant mode). */
export const OPEN_PRINCIPAL: Principal = { keyName: 'anonymous', role: 'admin', tenant: DEFAULT_TENANT };

const entrySchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'letters, digits, . _ @ - (1–64)'),
    role: z.enum(ROLES),
    tenant: z.string().regex(TENANT_NAME, 'lower-case letters, digits, _ - (1–64)'),
    /** "sha256:<64 hex>" of the key. */
    keyHash: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
    /** The key itself (convenient for development); hashed on load. */
    key: z.string().min(20).optional(),
    revoked: z.boolean().default(false),
    createdAt: z.string().optional(),
  })
  .refine((e) => (e.keyHash === undefined) !== (e.key === undefined), { message: 'give exactly one of "key" or "keyHash"' });

export const keysFileSchema = z.object({ keys: z.array(entrySchema) });
export type KeyEntry = z.infer<typeof entrySchema>;

export class UnauthenticatedError extends AppError {
  constructor(message: string) {
    super('UNAUTHENTICATED', 'UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('FORBIDDEN', 'FORBIDDEN', message);
  }
}

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new key: "fsk_" + 32 random bytes, base64url. */
export function generateKey(): string {
  return `fsk_${randomBytes(32).toString('base64url')}`;
}

export function parseKeysFile(text: string, file: string): KeyEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`${file} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const parsed = keysFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(`${file} is not a valid keys file:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const names = new Set<string>();
  for (const k of parsed.data.keys) {
    if (names.has(k.name)) throw new ConfigError(`${file}: the key name "${k.name}" appears twice.`);
    names.add(k.name);
  }
  return parsed.data.keys;
}

export class ApiKeyRegistry {
  private byHash = new Map<string, KeyEntry>();
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(
    private readonly file: string,
    private readonly recheckMs = 1000,
  ) {
    this.reload();
  }

  /** Tenants named in the file. */
  tenants(): string[] {
    return [...new Set([...this.byHash.values()].map((k) => k.tenant))];
  }

  /** The principal for an Authorization header value, or an UNAUTHENTICATED error saying what is wrong. */
  authenticate(authorization: string | undefined): Principal {
    this.maybeReload();
    if (!authorization) throw new UnauthenticatedError('Send an API key: Authorization: Bearer <key>.');
    const match = /^Bearer\s+(\S{1,512})$/i.exec(authorization.trim());
    if (!match) throw new UnauthenticatedError('Malformed Authorization header: expected "Bearer <key>".');
    const hash = hashKey(match[1]!);
    const entry = this.byHash.get(hash);
    // The map lookup is by hash; compare again in constant time for good measure.
    if (!entry || !timingSafeEqual(Buffer.from(hash), Buffer.from(entry.keyHash ?? hashKey(entry.key!)))) {
      throw new UnauthenticatedError('Unknown API key.');
    }
    if (entry.revoked) throw new UnauthenticatedError(`The API key "${entry.name}" has been revoked.`);
    return { keyName: entry.name, role: entry.role, tenant: entry.tenant };
  }

  private maybeReload(): void {
    const now = Date.now();
    if (now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    try {
      if (statSync(this.file).mtimeMs !== this.mtimeMs) this.reload();
    } catch {
      // The file vanished: keep the last good set rather than opening the server.
    }
  }

  private reload(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch (cause) {
      // At start-up (later reloads only run while the file is there): a sentence, not a stack trace.
      const code = (cause as { code?: unknown }).code;
      const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(code)})`;
      throw new ConfigError(`AUTH_KEYS_FILE ${this.file} ${why}. Create it with \`fieldscope keys add --name NAME --role admin\`, or unset AUTH_KEYS_FILE to run the open single-tenant server.`, { cause });
    }
    const entries = parseKeysFile(readFileSync(this.file, 'utf8'), this.file);
    this.byHash = new Map(entries.map((e) => [e.keyHash ?? hashKey(e.key!), e]));
    this.mtimeMs = mtimeMs;
  }
}
