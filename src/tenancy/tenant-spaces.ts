/**
 * Tenant isolation. Every tenant has its own *space*: its knowledge store, its identify records
 * (identifications, feedback, review items, photo hashes), its blob directory, and the services
 * built over them, with the embedding cache scoped to the tenant. A request is served from its
 * caller's space only (the GraphQL context is built from it), so no resolver, service or file
 * route holds a handle that could reach another tenant's data.
 *
 * Where a space's data lives:
 * - SQLite (the embedded default): database-per-tenant. Tenant `default` (the open server's only
 *   tenant) keeps the files at the root of DATA_DIR; any other tenant has DATA_DIR/tenants/<name>/
 *   with the same files. Separate files mean separate indexes, separate content-hash dedup and no
 *   query that could ever join two tenants.
 * - Qdrant: tenants share one collection, told apart by the `tenant` payload field that every
 *   read filters by (Qdrant's recommended multitenancy); each space's store is a tenant view of
 *   one connection. Identify records and files stay in the tenant's directory as above.
 *
 * Spaces open on first use (tenants come from the keys file, so a caller cannot make one up)
 * and stay open until shutdown.
 */
import path from 'node:path';
import { UnavailableError } from '../errors.js';

/** Lower-case letters, digits, _ and -, as the keys file allows (also a safe directory name). */
export const TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The tenant of an open server (no keys file), whose files sit at the root of DATA_DIR. */
export const DEFAULT_TENANT = 'default';

/** Why a tenant name from a command line is refused, or null when it is fine. */
export function tenantNameProblem(tenant: string): string | null {
  return TENANT_NAME.test(tenant) ? null : `--tenant must be lower-case letters, digits, _ or - (1–64, as in the keys file); got ${JSON.stringify(tenant)}.`;
}

/**
 * The tenant name stored in Qdrant for a Fieldscope tenant: `default` is stored under
 * QDRANT_TENANT (so deployments can share a collection), every other tenant under its own name.
 * The server and `fieldscope migrate` both use this, so they read and write the same points.
 */
export function qdrantTenantName(tenant: string, qdrantTenant: string | undefined): string {
  return tenant === DEFAULT_TENANT ? (qdrantTenant ?? DEFAULT_TENANT) : tenant;
}

/** The directory holding a tenant's SQLite files and blobs. */
export function tenantDataDir(dataDir: string, tenant: string): string {
  if (!TENANT_NAME.test(tenant)) throw new Error(`invalid tenant name ${JSON.stringify(tenant)}`);
  return tenant === DEFAULT_TENANT ? dataDir : path.join(dataDir, 'tenants', tenant);
}

export interface ClosableSpace {
  readonly tenant: string;
  close(): Promise<void>;
}

/** Opens each tenant's space once, on first use, and closes them all at shutdown. */
export class TenantSpaces<S extends ClosableSpace> {
  private readonly spaces = new Map<string, Promise<S>>();
  private closed = false;

  constructor(private readonly openSpace: (tenant: string) => Promise<S>) {}

  get(tenant: string): Promise<S> {
    if (this.closed) return Promise.reject(new UnavailableError('The server is shutting down.'));
    let space = this.spaces.get(tenant);
    if (!space) {
      space = this.openSpace(tenant);
      this.spaces.set(tenant, space);
      // A failed open (e.g. a disk error) is not cached: the next request tries again.
      const opened = space;
      opened.catch(() => {
        if (this.spaces.get(tenant) === opened) this.spaces.delete(tenant);
      });
    }
    return space;
  }

  /** The spaces opened so far (those still opening are awaited). */
  async opened(): Promise<S[]> {
    const settled = await Promise.allSettled(this.spaces.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  async close(): Promise<void> {
    this.closed = true;
    const spaces = await this.opened();
    this.spaces.clear();
    await Promise.all(spaces.map((s) => s.close()));
  }
}
