/**
 * TRUST_PROXY on a real server on 127.0.0.1, over HTTP and WebSocket: by default a forged
 * X-Forwarded-For changes nothing (the forger keeps its bucket); trusting 127.0.0.1 (the test's
 * stand-in for nginx) gives each forwarded client its own bucket; a bad value stops the server at
 * start-up with a message naming the setting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import { spawnServer } from '../helpers/process.js';
import { TINY_MODEL_DIR, gql, startTestServer } from '../helpers/server.js';
import { wsClient, type WsTestClient } from '../helpers/ws.js';

const ME = '{ me { keyName } }';
// One refill a minute: nothing comes back while a test runs, so a bucket of 3 is 3 calls.
const LIMITS = { LOAD_DEMO: 'false', RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_BURST: '3' };
const xff = (address: string) => ({ 'x-forwarded-for': address });

async function httpStatuses(url: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await gql(url, ME, {}, headers)).status);
  return statuses;
}

/**
 * The client addresses of the open server's audit entries, oldest first (read from its audit file,
 * past any rate limit): of the answered calls, and of the RATE_LIMITED refusals apart, since those
 * are coalesced per client per second (src/server/refusal-audit.ts) and their number depends on timing.
 */
async function auditedAddresses(dataDir: string): Promise<{ answered: (string | null)[]; refused: (string | null)[] }> {
  const audit = new SqliteAuditStore(path.join(dataDir, 'audit.db'));
  await audit.init();
  try {
    // The HTTP entry is stored before its answer; a WebSocket one just after: wait for the writes to settle.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const items = (await audit.list({ tenant: 'default', first: 100 })).items.reverse();
    return {
      answered: items.filter((e) => e.outcome !== 'RATE_LIMITED').map((e) => e.clientAddress),
      refused: items.filter((e) => e.outcome === 'RATE_LIMITED').map((e) => e.clientAddress),
    };
  } finally {
    await audit.close();
  }
}

async function wsCodes(socket: WsTestClient, n: number): Promise<(string | undefined)[]> {
  const codes: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) codes.push((await socket.run(ME)).code);
  return codes;
}

describe('TRUST_PROXY unset: X-Forwarded-For is not believed', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const sockets: WsTestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer(LIMITS);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await server?.close();
  });

  it('keeps a forger in its own bucket over HTTP and WebSocket whatever address it claims', async () => {
    expect(await httpStatuses(server.url, xff('198.51.100.1'), 3)).toEqual([200, 200, 200]);
    // A new forged address each time: still the socket's bucket (127.0.0.1), now empty.
    expect((await gql(server.url, ME, {}, xff('198.51.100.2'))).status).toBe(429);
    expect((await gql(server.url, ME, {}, xff('198.51.100.3, 203.0.113.9'))).status).toBe(429);
    const socket = wsClient(server.url, null, xff('198.51.100.4'));
    sockets.push(socket);
    expect(await wsCodes(socket, 1)).toEqual(['RATE_LIMITED']);
    // Audited under the peer's address, never a forged one: HTTP's 3 answered calls, and the refusals
    // (2 over HTTP, 1 over WebSocket, one client: coalesced into one entry a second).
    const { answered, refused } = await auditedAddresses(server.dataDir);
    expect(answered).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(new Set(refused)).toEqual(new Set(['127.0.0.1']));
  });
});

describe('TRUST_PROXY=127.0.0.1: each forwarded client has its own bucket', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const sockets: WsTestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({ ...LIMITS, TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await server?.close();
  });

  it('over HTTP: one client exhausting its bucket does not limit another', async () => {
    expect(await httpStatuses(server.url, xff('198.51.100.10'), 4)).toEqual([200, 200, 200, 429]);
    expect(await httpStatuses(server.url, xff('198.51.100.11'), 3)).toEqual([200, 200, 200]);
    // The proxy itself (no header) is a third client.
    expect((await gql(server.url, ME)).status).toBe(200);
    // Only the entry the trusted proxy appended counts: a client cannot prepend its way into another bucket.
    expect((await gql(server.url, ME, {}, xff('198.51.100.99, 198.51.100.10'))).status).toBe(429);
  });

  it('over WebSocket: the upgrade request names the client, and HTTP and WebSocket share its bucket', async () => {
    const first = wsClient(server.url, null, xff('198.51.100.20'));
    const second = wsClient(server.url, null, xff('198.51.100.21'));
    sockets.push(first, second);
    expect(await wsCodes(first, 4)).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
    expect(await wsCodes(second, 3)).toEqual([undefined, undefined, undefined]);
    // The same client over HTTP is in the bucket its socket emptied.
    expect((await gql(server.url, ME, {}, xff('198.51.100.20'))).status).toBe(429);
  });

  it('records the forwarded client in the audit log, over HTTP and WebSocket', async () => {
    const { answered, refused } = await auditedAddresses(server.dataDir);
    // HTTP: 3 + 3 answered calls and the proxy's own; WebSocket: 3 + 3.
    expect(answered).toEqual([
      ...Array<string>(3).fill('198.51.100.10'),
      ...Array<string>(3).fill('198.51.100.11'),
      '127.0.0.1',
      ...Array<string>(3).fill('198.51.100.20'),
      ...Array<string>(3).fill('198.51.100.21'),
    ]);
    // Refused: .10 twice over HTTP, .20 over WebSocket then HTTP; each client's refusals coalesced per second.
    expect(new Set(refused)).toEqual(new Set(['198.51.100.10', '198.51.100.20']));
  });
});

describe('TRUST_PROXY=127.0.0.1 forwarding something that is not an IP address', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const sockets: WsTestClient[] = [];
  beforeAll(async () => {
    server = await startTestServer({ ...LIMITS, TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.dispose()));
    await server?.close();
  });

  it('counts the call against the proxy and audits the proxy, never the forwarded text, over HTTP and WebSocket', async () => {
    // Each malformed chain falls back to the trusted proxy (the socket's peer): one bucket of 3 for all of them,
    // where the old code gave each string a bucket of its own.
    expect((await gql(server.url, ME, {}, xff('<script>'))).status).toBe(200);
    expect((await gql(server.url, ME, {}, xff('foo'))).status).toBe(200);
    expect((await gql(server.url, ME, {}, xff('1.2.3.4, bar'))).status).toBe(200);
    expect((await gql(server.url, ME, {}, xff('198.51.100.1:80'))).status).toBe(429);
    expect((await gql(server.url, ME)).status).toBe(429);
    const socket = wsClient(server.url, null, xff('<img src=x>'));
    sockets.push(socket);
    expect(await wsCodes(socket, 1)).toEqual(['RATE_LIMITED']);
    // A well-formed forwarded client still has a bucket of its own.
    expect((await gql(server.url, ME, {}, xff('198.51.100.30'))).status).toBe(200);
    const { answered, refused } = await auditedAddresses(server.dataDir);
    expect(answered).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1', '198.51.100.30']);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(new Set(refused)).toEqual(new Set(['127.0.0.1']));
  });
});

describe('TRUST_PROXY at start-up', () => {
  it('stops the server on a bad value with a message naming the setting', async () => {
    for (const value of ['true', 'not-an-address', '10.0.0.0/99', '127.0.0.1,,10.0.0.1', '11']) {
      const proc = spawnServer({ TRUST_PROXY: value, CLIP_MODEL: TINY_MODEL_DIR, DATA_DIR: '/nonexistent-never-created' });
      expect(await proc.exited, value).toBe(78); // EX_CONFIG
      expect(proc.stderr(), value).toMatch(/Invalid configuration:[\s\S]*TRUST_PROXY: .+/);
    }
  }, 120_000);

  it('logs the forwarded client of each request when the proxy is trusted, and the peer when not', async () => {
    for (const [trust, expected] of [
      ['127.0.0.1', '203.0.113.7'],
      ['', '127.0.0.1'],
    ] as const) {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-trust-'));
      const proc = spawnServer({ TRUST_PROXY: trust, CLIP_MODEL: TINY_MODEL_DIR, HOST: '127.0.0.1', DATA_DIR: dataDir });
      try {
        const url = await proc.listening;
        expect((await fetch(`${url}/health`, { headers: xff('203.0.113.7') })).status).toBe(200);
        await expect.poll(() => /"url":"\/health".*?"client":"([^"]+)"/.exec(proc.stdout())?.[1], { timeout: 10_000 }).toMatch(new RegExp(`^(::ffff:)?${expected.replace(/\./g, '\\.')}$`));
      } finally {
        proc.child.kill('SIGTERM');
        await proc.exited;
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }, 180_000);
});
