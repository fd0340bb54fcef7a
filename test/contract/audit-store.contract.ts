/**
 * The behaviour every AuditStore owes its users, as one suite run against each implementation:
 * SQLite (DATA_DIR/audit.db) and Postgres (shared by replicas). Append-only is checked through
 * the backing's own `tamper` (a raw UPDATE/DELETE on the stored entries), which must be refused
 * by the database itself.
 *
 * `open()` gives a log on the shared backing; calling it twice gives two independent connections
 * (two processes, two replicas), and appends are raced across them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditStore, NewAuditEntry } from '../../src/audit/audit-store.js';

export interface AuditContractBacking {
  open(): Promise<AuditStore>;
  /** Tries to change (`update`) or remove (`delete`) stored entries with raw SQL; resolves or rejects as the database decides. */
  tamper(kind: 'update' | 'delete'): Promise<unknown>;
  cleanup(): Promise<void>;
}

export function auditEntry(fields: Partial<NewAuditEntry> = {}): NewAuditEntry {
  return {
    at: '2026-03-01T10:00:00.000Z',
    keyName: 'ada',
    tenant: 'acme',
    role: 'admin',
    operation: 'search',
    operationName: 'FindValve',
    outcome: 'ok',
    query: 'gate valve leaking',
    documentIds: ['doc-1', 'doc-2'],
    photoIds: ['photo-1'],
    durationMs: 12,
    clientAddress: '198.51.100.7',
    ...fields,
  };
}

export function defineAuditStoreContract(name: string, makeBacking: () => Promise<AuditContractBacking>): void {
  describe(`AuditStore contract: ${name}`, () => {
    let backing: AuditContractBacking;
    let log: AuditStore;
    beforeEach(async () => {
      backing = await makeBacking();
      log = await backing.open();
    });
    afterEach(async () => {
      await backing.cleanup();
    });

    it('keeps the client address, and null for an entry written without one', async () => {
      await log.append(auditEntry({ clientAddress: '2001:db8::1' }));
      const { clientAddress: _omitted, ...withoutAddress } = auditEntry();
      await log.append(withoutAddress);
      const page = await log.list({ tenant: 'acme', first: 10 });
      expect(page.items.map((e) => e.clientAddress)).toEqual([null, '2001:db8::1']);
    });

    it('gives back what was appended, newest first, numbered 1, 2, 3 per tenant', async () => {
      const first = auditEntry({ durationMs: 12.4 });
      await log.append(first);
      await log.append(auditEntry({ operation: 'ask', query: null, documentIds: [], photoIds: [], operationName: null, outcome: 'UNAUTHENTICATED' }));
      const page = await log.list({ tenant: 'acme', first: 10 });
      expect(page.hasNextPage).toBe(false);
      expect(page.items).toEqual([
        { ...auditEntry({ operation: 'ask', query: null, documentIds: [], photoIds: [], operationName: null, outcome: 'UNAUTHENTICATED' }), seq: 2 },
        { ...first, durationMs: 12, seq: 1 },
      ]);
    });

    it("numbers each tenant's entries on their own, and one tenant never sees another's", async () => {
      for (const tenant of ['acme', 'globex', 'acme', 'globex', 'globex', 'acme', 'acme']) await log.append(auditEntry({ tenant, keyName: `${tenant}-key` }));
      const acme = await log.forTenant('acme').list({ first: 100 });
      const globex = await log.forTenant('globex').list({ first: 100 });
      expect(acme.items.map((e) => e.seq)).toEqual([4, 3, 2, 1]);
      expect(globex.items.map((e) => e.seq)).toEqual([3, 2, 1]);
      expect(new Set(acme.items.map((e) => e.tenant))).toEqual(new Set(['acme']));
      expect(new Set(globex.items.map((e) => e.keyName))).toEqual(new Set(['globex-key']));
      expect((await log.forTenant('acme').list({ first: 100, keyName: 'globex-key' })).items).toEqual([]);
      expect((await log.forTenant('initech').list({ first: 100 })).items).toEqual([]);
    });

    it('pages by the per-tenant seq, and filters by key name and by exact operation name', async () => {
      await log.append(auditEntry({ operation: 'search' }));
      await log.append(auditEntry({ operation: 'ingestDocument,deletePhoto', keyName: 'bo' }));
      await log.append(auditEntry({ operation: 'ask' }));
      await log.append(auditEntry({ operation: 'deletePhotos' }));
      await log.append(auditEntry({ operation: 'search', keyName: 'bo' }));
      const first = await log.list({ tenant: 'acme', first: 2 });
      expect(first.items.map((e) => e.seq)).toEqual([5, 4]);
      expect(first.hasNextPage).toBe(true);
      const next = await log.list({ tenant: 'acme', first: 2, after: 4 });
      expect(next.items.map((e) => e.seq)).toEqual([3, 2]);
      expect((await log.list({ tenant: 'acme', first: 10, after: 2 })).items.map((e) => e.seq)).toEqual([1]);
      expect((await log.list({ tenant: 'acme', first: 10, keyName: 'bo' })).items.map((e) => e.seq)).toEqual([5, 2]);
      // An operation matches one of the comma-separated field names exactly: not a prefix, not another case.
      expect((await log.list({ tenant: 'acme', first: 10, operation: 'deletePhoto' })).items.map((e) => e.seq)).toEqual([2]);
      expect((await log.list({ tenant: 'acme', first: 10, operation: 'search' })).items.map((e) => e.seq)).toEqual([5, 1]);
      expect((await log.list({ tenant: 'acme', first: 10, operation: 'Search' })).items).toEqual([]);
      expect((await log.list({ tenant: 'acme', first: 10, operation: 'delete_hoto' })).items).toEqual([]);
      expect((await log.list({ tenant: 'acme', first: 10, operation: 'search', keyName: 'bo' })).items.map((e) => e.seq)).toEqual([5]);
    });

    it('concurrent appends over two connections take every number once, without gaps', async () => {
      const other = await backing.open();
      await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? log : other).append(auditEntry({ tenant: i % 4 < 2 ? 'acme' : 'globex', query: `q${i}` }))));
      for (const [reader, tenant] of [[log, 'acme'], [other, 'globex']] as const) {
        const page = await reader.list({ tenant, first: 100 });
        expect(page.items.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
      }
      // Each side reads the other's entries.
      expect(new Set((await log.list({ tenant: 'acme', first: 100 })).items.map((e) => e.query)).size).toBe(20);
    });

    it('is append-only: the database refuses to change or remove entries', async () => {
      await log.append(auditEntry());
      await expect(backing.tamper('update')).rejects.toThrow(/append-only/);
      await expect(backing.tamper('delete')).rejects.toThrow(/append-only/);
      expect((await log.list({ tenant: 'acme', first: 10 })).items).toEqual([{ ...auditEntry(), seq: 1 }]);
    });
  });
}
