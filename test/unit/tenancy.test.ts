/**
 * The pieces of tenant isolation that are plain functions: where a tenant's files live, the
 * space registry, file URL signatures bound to a tenant, and the audit log's per-tenant reads.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NewAuditEntry } from '../../src/audit/audit-store.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { FileUrlSigner } from '../../src/auth/signed-urls.js';
import { qdrantTenantName, TenantSpaces, tenantDataDir, tenantNameProblem } from '../../src/tenancy/tenant-spaces.js';

describe('tenantDataDir', () => {
  it('keeps the default tenant at the root and every other tenant in its own folder', () => {
    expect(tenantDataDir('/data', 'default')).toBe('/data');
    expect(tenantDataDir('/data', 'acme')).toBe(path.join('/data', 'tenants', 'acme'));
  });

  it('refuses names that are not plain folder names', () => {
    for (const bad of ['', '..', '../x', 'a/b', 'Acme', '-x', 'a'.repeat(65), 'a\u0000b']) expect(() => tenantDataDir('/data', bad)).toThrow(/invalid tenant/);
  });
});

describe('tenant names', () => {
  it('says why a command-line tenant name is refused', () => {
    expect(tenantNameProblem('acme')).toBeNull();
    expect(tenantNameProblem('Bad/Name')).toMatch(/--tenant must be lower-case.*"Bad\/Name"/);
  });

  it('stores the default tenant under QDRANT_TENANT in Qdrant and the others under their own names', () => {
    expect(qdrantTenantName('default', 'shared-name')).toBe('shared-name');
    expect(qdrantTenantName('default', undefined)).toBe('default');
    expect(qdrantTenantName('acme', 'shared-name')).toBe('acme');
  });
});

describe('TenantSpaces', () => {
  const space = (tenant: string, log: string[]) => ({ tenant, close: async () => void log.push(`close ${tenant}`) });

  it('opens each tenant once, even when asked concurrently, and closes them all', async () => {
    const log: string[] = [];
    const spaces = new TenantSpaces(async (t) => (log.push(`open ${t}`), space(t, log)));
    const [a1, a2, b] = await Promise.all([spaces.get('a'), spaces.get('a'), spaces.get('b')]);
    expect(a1).toBe(a2);
    expect(b.tenant).toBe('b');
    expect(log).toEqual(['open a', 'open b']);
    expect((await spaces.opened()).map((s) => s.tenant)).toEqual(['a', 'b']);
    await spaces.close();
    expect(log.slice(2).sort()).toEqual(['close a', 'close b']);
    await expect(spaces.get('a')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('does not remember a failed open: the next request tries again', async () => {
    let attempts = 0;
    const spaces = new TenantSpaces(async (t) => {
      if (++attempts === 1) throw new Error('disk full');
      return space(t, []);
    });
    await expect(spaces.get('a')).rejects.toThrow('disk full');
    await expect(spaces.get('a')).resolves.toMatchObject({ tenant: 'a' });
    expect(attempts).toBe(2);
  });
});

describe('FileUrlSigner', () => {
  const signer = new FileUrlSigner('a-secret', 60);
  const key = `${'ab'.repeat(32)}.pdf`;
  const parse = (url: string) => Object.fromEntries(new URL(url, 'http://x').searchParams);

  it('signs the tenant with the key and the expiry', () => {
    const q = parse(signer.url('acme', key));
    expect(q.tenant).toBe('acme');
    expect(signer.verify('acme', key, q.exp, q.sig)).toBe(true);
    expect(signer.verify('globex', key, q.exp, q.sig)).toBe(false);
    expect(signer.verify('acme', `${'cd'.repeat(32)}.pdf`, q.exp, q.sig)).toBe(false);
    expect(signer.verify('acme', key, String(Number(q.exp) + 1), q.sig)).toBe(false);
  });

  it('refuses an expired URL and one signed with another secret', () => {
    const q = parse(signer.url('acme', key, Date.now() - 61_000));
    expect(signer.verify('acme', key, q.exp, q.sig)).toBe(false);
    const other = parse(new FileUrlSigner('another-secret', 60).url('acme', key));
    expect(signer.verify('acme', key, other.exp, other.sig)).toBe(false);
  });
});

describe('SqliteAuditStore.forTenant', () => {
  it("lists one tenant's entries only, whatever the other filters say", async () => {
    const log = new SqliteAuditStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-audit-')), 'audit.db'));
    await log.init();
    const entry = (tenant: string, keyName: string): NewAuditEntry => ({
      at: new Date().toISOString(),
      keyName,
      tenant,
      role: 'admin',
      operation: 'search',
      operationName: null,
      outcome: 'ok',
      query: null,
      documentIds: [],
      photoIds: [],
      durationMs: 1,
    });
    await log.append(entry('acme', 'acme-admin'));
    await log.append(entry('globex', 'globex-admin'));
    await log.append(entry('acme', 'acme-tech'));
    const acme = log.forTenant('acme');
    expect((await acme.list({ first: 10 })).items.map((e) => e.keyName)).toEqual(['acme-tech', 'acme-admin']);
    expect((await acme.list({ first: 10, keyName: 'globex-admin' })).items).toEqual([]);
    expect((await log.forTenant('globex').list({ first: 10 })).items.map((e) => e.tenant)).toEqual(['globex']);
    expect((await log.forTenant('initech').list({ first: 10 })).items).toEqual([]);
    await log.close();
  });
});
