/**
 * `fieldscope ingest` on real files: a line per item, a summary, safe to rerun, bad files
 * reported and skipped, and a non-zero exit only when it cannot run at all. With --tenant, into
 * that tenant's own database, where a server serves it to that tenant's keys only.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runIngestCommand } from '../../src/cli/ingest.js';
import { sqliteFile } from '../../src/store/create-store.js';
import { SqliteKnowledgeExport } from '../../src/store/sqlite/sqlite-export.js';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { jpeg } from '../helpers/images.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { gql, startTestServer, TINY_MODEL_DIR } from '../helpers/server.js';

function capture() {
  let text = '';
  return { stream: { write: (s: string) => (text += s), isTTY: false }, text: () => text };
}

async function run(args: string[], env: Record<string, string>) {
  const out = capture();
  const err = capture();
  const code = await runIngestCommand(args, { stdout: out.stream, stderr: err.stream, env: { ...env, LOG_LEVEL: 'error' } });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('fieldscope ingest', () => {
  const env = { CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'fieldscope-cli-')), CLIP_TEXT_THREADS: '1', CLIP_IMAGE_THREADS: '1' };
  const demo = path.join(REPO_ROOT, 'demo');

  it('--concurrency: photos go several at once (sharing inference batches), lines stay in input order, a photo twice is a duplicate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'photos-'));
    const names: string[] = [];
    for (let i = 0; i < 9; i++) {
      const name = `p${i}.jpg`;
      writeFileSync(path.join(dir, name), await jpeg(160 + 8 * i, 120));
      names.push(name);
    }
    writeFileSync(path.join(dir, 'p9-copy.jpg'), await jpeg(160, 120)); // the same bytes as p0.jpg
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-cli-conc-'));
    const { code, stdout } = await run([dir, '--concurrency', '4'], { ...env, DATA_DIR: dataDir });
    expect(code).toBe(0);
    const reported = [...stdout.matchAll(/^(ingested|duplicate) +\S*?(p\d[^ ]*\.jpg) /gm)].map((m) => [m[1], m[2]]);
    expect(reported).toEqual([...names.map((n) => ['ingested', n]), ['duplicate', 'p9-copy.jpg']]);
    expect(stdout).toMatch(/^9 ingested, 1 duplicate, 0 failed/m);
    const bad = await run([dir, '--concurrency', '0'], { ...env, DATA_DIR: dataDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--concurrency must be a whole number from 1 to 256/);
  });

  it('ingests a folder of documents and photos, one line per item and a summary', async () => {
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), 'bad-')), 'broken.pdf');
    writeFileSync(bad, Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(100, 0x41)]));
    const { code, stdout } = await run([path.join(demo, 'docs'), path.join(demo, 'photos'), bad, '/no/such/file.pdf'], env);
    // Two inputs failed, the rest were ingested: exit code 3 (documented), so scripts notice.
    expect(code).toBe(3);
    expect(stdout).toMatch(/ingested +.*p200-centrifugal-pump-manual\.pdf +"[^"]+", \d+ pages/);
    expect(stdout).toMatch(/ingested +.*valve-bv50\.jpg +photo .*BV-50/);
    expect(stdout).toMatch(/failed +.*broken\.pdf: INVALID_DOCUMENT/);
    expect(stdout).toMatch(/failed +\/no\/such\/file\.pdf: no such file or folder/);
    expect(stdout).toMatch(/^10 ingested, 0 duplicate, 2 failed \(11 files in [\d.]+ s\)$/m);
    // Ten real ingests (PDFs rendered in their worker): ~25 s when the 2 shared cores are busy.
  }, 120_000);

  it('is safe to rerun: everything already present is a duplicate', async () => {
    const { code, stdout } = await run([path.join(demo, 'docs'), path.join(demo, 'photos')], env);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^0 ingested, 10 duplicate, 0 failed/m);
  });

  it('exits non-zero, saying why, when it cannot run at all', async () => {
    const { code, stderr } = await run([demo], { ...env, CLIP_MODEL: '/no/such/model' });
    expect(code).toBe(1);
    expect(stderr).toContain('MODEL_LOAD_FAILED');
  });

  it("--tenant writes into that tenant's database, which a server shows to that tenant's keys only", async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-cli-tenant-'));
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'doc-')), 'p200.md');
    writeFileSync(file, PUMP_MANUAL_MD);
    const { code, stdout } = await run([file, '--tenant', 'acme'], { ...env, DATA_DIR: dataDir });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^1 ingested, 0 duplicate, 0 failed/m);
    const id = /ingested +.*p200\.md +"[^"]+", \d+ pages? \(([^)]+)\)/.exec(stdout)?.[1];
    expect(id).toBeDefined();

    // The document is in DATA_DIR/tenants/acme/fieldscope.db, and not in the root (default tenant's) one.
    const documentIds = (dir: string): string[] => {
      if (!existsSync(sqliteFile(dir))) return [];
      const db = SqliteKnowledgeExport.open(sqliteFile(dir));
      try {
        return [...db.documents()].map((d) => d.document.id);
      } finally {
        db.close();
      }
    };
    expect(documentIds(path.join(dataDir, 'tenants', 'acme'))).toEqual([id]);
    expect(documentIds(dataDir)).toEqual([]);

    const keysFile = path.join(dataDir, 'keys.json');
    const keys = { acme: 'acme-admin-0123456789abcdefghij', home: 'home-admin-0123456789abcdefghij' };
    writeFileSync(
      keysFile,
      JSON.stringify({
        keys: [
          { name: 'acme-admin', role: 'admin', tenant: 'acme', key: keys.acme },
          { name: 'home-admin', role: 'admin', tenant: 'default', key: keys.home },
        ],
      }),
    );
    const server = await startTestServer({ DATA_DIR: dataDir, AUTH_KEYS_FILE: keysFile, LOAD_DEMO: 'false' });
    try {
      const as = (key: string) => ({ authorization: `Bearer ${key}` });
      const DOC = 'query($id: ID!) { document(id: $id) { id } documents(first: 10) { nodes { id } } }';
      expect((await gql(server.url, DOC, { id }, as(keys.acme))).data).toEqual({ document: { id }, documents: { nodes: [{ id }] } });
      expect((await gql(server.url, DOC, { id }, as(keys.home))).data).toEqual({ document: null, documents: { nodes: [] } });
    } finally {
      await server.close();
    }
  }, 60_000);

  it('refuses an invalid --tenant with exit code 2 and says what a tenant name may be', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-cli-badtenant-'));
    const { code, stdout, stderr } = await run([path.join(demo, 'docs'), '--tenant', 'Bad/Name'], { ...env, DATA_DIR: dataDir });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('--tenant must be lower-case letters, digits, _ or -');
    expect(stderr).toContain('"Bad/Name"');
    // Nothing was opened or written.
    expect(existsSync(path.join(dataDir, 'tenants'))).toBe(false);
    expect(existsSync(sqliteFile(dataDir))).toBe(false);
  });
});
