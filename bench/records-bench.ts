/**
 * Throughput of the shared records on Postgres, as two replicas see them (two pools):
 *
 *  1. uncontested claims: every review item claimed once, the calls spread over both pools;
 *  2. contested claims: each item claimed by 20 callers at once (10 per pool), exactly one must
 *     win per item (checked; the run fails otherwise);
 *  3. audit appends of one tenant from both pools (the per-tenant counter serializes them).
 *
 * Postgres: DATABASE_URL when set (writes to tenant `fieldscope-bench-<time>`); otherwise a
 * temporary server started like the tests' (Debian's postgresql, test/helpers/postgres.ts).
 *
 *   npm run bench:records -- [--items 2000] [--concurrency 32] [--pool 10]
 */
import { PostgresAuditStore } from '../src/audit/postgres-audit-store.js';
import { PostgresIdentifyStore } from '../src/identify/postgres-identify-store.js';
import { PostgresDatabase } from '../src/postgres/postgres-database.js';
import { describeDatabaseUrl } from '../src/postgres/postgres-errors.js';
import { startPostgres } from '../test/helpers/postgres.js';

function arg(name: string, fallback: string): number {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback);
}
const ITEMS = arg('items', '2000');
const CONCURRENCY = arg('concurrency', '32');
const POOL = arg('pool', '10');
const CONTESTED_ITEMS = Math.max(1, Math.floor(ITEMS / 10));

const temporary = process.env.DATABASE_URL ? null : await startPostgres();
const url = process.env.DATABASE_URL ?? (await temporary!.createDatabase('records_bench'));
const settings = { url, poolSize: POOL, connectTimeoutMs: 5000, statementTimeoutMs: 30_000 };
const replicas = [new PostgresDatabase(settings), new PostgresDatabase(settings)];
await Promise.all(replicas.map((r) => r.init()));
const tenant = `fieldscope-bench-${Date.now()}`;
const stores = replicas.map((db) => new PostgresIdentifyStore(db, tenant));
const audits = replicas.map((db) => new PostgresAuditStore(db));

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Runs `count` tasks, at most `concurrency` at once; returns wall time and per-call latencies. */
async function run(count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await task(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b) };
}

const item = (id: string) => ({
  id,
  kind: 'IDENTIFICATION' as const,
  status: 'OPEN' as const,
  identificationId: null,
  photoId: null,
  reason: 'bench',
  createdAt: new Date().toISOString(),
  claimedBy: null,
  claimedAt: null,
  resolvedBy: null,
  resolvedAt: null,
  resolutionLabel: null,
  resolutionNote: null,
  feedbackId: null,
});
const claim = (store: PostgresIdentifyStore, id: string, by: string) => store.updateReviewItem(id, ['OPEN'], { status: 'CLAIMED', claimedBy: by, claimedAt: new Date().toISOString() });

await run(ITEMS + CONTESTED_ITEMS, CONCURRENCY, (i) => stores[i % 2]!.addReviewItem(item(`item-${i}`)));

const uncontested = await run(ITEMS, CONCURRENCY, (i) => claim(stores[i % 2]!, `item-${i}`, `r${i}`));

let wins = 0;
const contested = await run(CONTESTED_ITEMS, Math.max(1, Math.floor(CONCURRENCY / 20)), async (i) => {
  const id = `item-${ITEMS + i}`;
  const results = await Promise.all(Array.from({ length: 20 }, (_, k) => claim(stores[k % 2]!, id, `r${k}`)));
  const winners = results.filter((r) => r !== null).length;
  if (winners !== 1) throw new Error(`item ${id}: ${winners} claims won, expected exactly 1`);
  wins += winners;
});

const appends = await run(ITEMS, CONCURRENCY, (i) =>
  audits[i % 2]!.append({ at: new Date().toISOString(), keyName: 'bench', tenant, role: 'admin', operation: 'search', operationName: null, outcome: 'ok', query: null, documentIds: [], photoIds: [], durationMs: 1 }),
);
const newest = (await audits[0]!.list({ tenant, first: 1 })).items[0]?.seq;
if (newest !== ITEMS) throw new Error(`audit: newest seq ${newest}, expected ${ITEMS}`);

await Promise.all(replicas.map((r) => r.close()));
await temporary?.close();

const line = (name: string, calls: number, r: { seconds: number; latencies: number[] }) =>
  console.log(`${name.padEnd(42)} ${String(calls).padStart(6)} calls  ${(calls / r.seconds).toFixed(0).padStart(6)} /s  p50 ${percentile(r.latencies, 50).toFixed(1)} ms  p95 ${percentile(r.latencies, 95).toFixed(1)} ms`);
console.log(`Postgres at ${describeDatabaseUrl(url)}${temporary ? ' (temporary, fsync off)' : ''}; 2 pools of ${POOL}; concurrency ${CONCURRENCY}`);
line('claims, uncontested', ITEMS, uncontested);
line(`claims, 20 racing per item (${CONTESTED_ITEMS} items)`, CONTESTED_ITEMS * 20, { seconds: contested.seconds, latencies: contested.latencies });
console.log(`${''.padEnd(42)} exactly one winner on each of ${wins} items (latency above is per 20-claim race)`);
line('audit appends, one tenant', ITEMS, appends);
