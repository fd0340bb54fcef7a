/**
 * RefusalAudit's coalescing (src/server/refusal-audit.ts) on a real SQLite audit file, with a
 * controlled clock: one RATE_LIMITED entry per caller per window, the rest counted in the log;
 * other codes written each time; callers past `maxTracked` counted, not written.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteAuditStore } from '../../src/audit/sqlite-audit-store.js';
import type { Principal } from '../../src/auth/api-keys.js';
import { RefusalAudit } from '../../src/server/refusal-audit.js';

const tina = { keyName: 'tina', tenant: 'acme', role: 'technician' } as Principal;
const olga = { keyName: 'olga', tenant: 'acme', role: 'technician' } as Principal;

describe('RefusalAudit', () => {
  let audit: SqliteAuditStore;
  let lines: Record<string, unknown>[];
  let clock: number;
  let refusals: RefusalAudit;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  const outcomes = async () => (await audit.list({ tenant: 'acme', first: 1000 })).items.reverse().map((e) => `${e.keyName}:${e.outcome}:${e.clientAddress}`);

  beforeEach(async () => {
    audit = new SqliteAuditStore(path.join(mkdtempSync(path.join(os.tmpdir(), 'fieldscope-refusals-')), 'audit.db'));
    await audit.init();
    lines = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
    clock = 1_000_000;
    refusals = new RefusalAudit(audit, pino({ level: 'warn' }, sink), { windowMs: 1000, maxTracked: 2, now: () => clock });
  });
  afterEach(async () => {
    refusals.dispose();
    await audit.close();
  });

  it('writes the first RATE_LIMITED of each caller per window and logs how many more were refused', async () => {
    for (let i = 0; i < 100; i++) refusals.record({ principal: tina, clientAddress: '10.0.0.1', outcome: 'RATE_LIMITED', startedAt: performance.now() });
    refusals.record({ principal: tina, clientAddress: '10.0.0.2', outcome: 'RATE_LIMITED', startedAt: performance.now() });
    clock += 1000;
    refusals.record({ principal: tina, clientAddress: '10.0.0.1', outcome: 'RATE_LIMITED', startedAt: performance.now() });
    await settle();
    expect(await outcomes()).toEqual(['tina:RATE_LIMITED:10.0.0.1', 'tina:RATE_LIMITED:10.0.0.2', 'tina:RATE_LIMITED:10.0.0.1']);
    expect(lines).toEqual([expect.objectContaining({ keyName: 'tina', tenant: 'acme', client: '10.0.0.1', code: 'RATE_LIMITED', coalesced: 99 })]);
  });

  it('writes every other refusal, and counts rate-limited callers past maxTracked without writing them', async () => {
    for (let i = 0; i < 3; i++) refusals.record({ principal: tina, clientAddress: '10.0.0.1', outcome: 'PAYLOAD_TOO_LARGE', startedAt: performance.now() });
    refusals.record({ principal: tina, clientAddress: '10.0.0.1', outcome: 'RATE_LIMITED', startedAt: performance.now() });
    refusals.record({ principal: olga, clientAddress: '10.0.0.1', outcome: 'RATE_LIMITED', startedAt: performance.now() });
    refusals.record({ principal: olga, clientAddress: '10.0.0.9', outcome: 'RATE_LIMITED', startedAt: performance.now() });
    refusals.dispose();
    await settle();
    expect(await outcomes()).toEqual([...Array<string>(3).fill('tina:PAYLOAD_TOO_LARGE:10.0.0.1'), 'tina:RATE_LIMITED:10.0.0.1', 'olga:RATE_LIMITED:10.0.0.1']);
    expect(lines).toEqual([expect.objectContaining({ refused: 1, tracked: 2 })]);
  });
});
