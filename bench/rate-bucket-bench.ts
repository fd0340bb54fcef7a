/**
 * What the rate-limit bucket shared by replicas (src/postgres/postgres-rate-buckets.ts: one
 * atomic upsert per request on Postgres) costs per request, against the in-memory bucket each
 * replica keeps without Postgres (src/server/token-bucket.ts).
 *
 *  1. in memory: TokenBucketStore.take, one client and 10,000 clients;
 *  2. Postgres, one request at a time (the latency a request would gain), one hot key;
 *  3. Postgres, 32 at once over one hot key (every request of one API key: row-lock contention);
 *  4. Postgres, 32 at once over 1,000 keys (many clients).
 * It also checks the statement: 2 pools ("replicas") draining one bucket of 50 admit exactly 50.
 *
 * Postgres: DATABASE_URL when set (keys `bench:*` in its rate_buckets table, deleted at the end);
 * otherwise a temporary server started like the tests' (test/helpers/postgres.ts).
 *
 *   npx tsx bench/rate-bucket-bench.ts [--requests 5000] [--pool 10]
 */
import os from 'node:os';
import { PostgresDatabase } from '../src/postgres/postgres-database.js';
import { PostgresRateBuckets } from '../src/postgres/postgres-rate-buckets.js';
import { TokenBucketStore } from '../src/server/token-bucket.js';
import { startPostgres } from '../test/helpers/postgres.js';

function arg(name: string, fallback: string): number {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback);
}
const REQUESTS = arg('requests', '5000');
const POOL = arg('pool', '10');
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (n: number) => `${n.toFixed(3)} ms`;

async function timed(count: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<{ wallMs: number; cpuUsPerCall: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await call(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuUsPerCall: (used.user + used.system) / count, latencies: latencies.sort((a, b) => a - b) };
}

function report(label: string, r: { wallMs: number; cpuUsPerCall: number; latencies: number[] }): void {
  const perSecond = (r.latencies.length / r.wallMs) * 1000;
  console.log(`${label.padEnd(44)} p50 ${ms(percentile(r.latencies, 50))}  p99 ${ms(percentile(r.latencies, 99))}  ${Math.round(perSecond)} req/s  ${Math.round(r.cpuUsPerCall)} µs CPU/request (this process)`);
}

console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${REQUESTS} requests per case`);

// 1. In memory.
for (const clients of [1, 10_000]) {
  const store = new TokenBucketStore({ capacity: 1e9, refillPerSecond: 1e6, maxClients: 10_000 });
  const keys = Array.from({ length: clients }, (_, i) => `key:${i}`);
  const cpu = process.cpuUsage();
  const t = performance.now();
  const n = 1_000_000;
  for (let i = 0; i < n; i++) store.take(keys[i % clients]!, Date.now());
  const wall = performance.now() - t;
  const used = process.cpuUsage(cpu);
  console.log(`${`in memory, ${clients} client(s)`.padEnd(44)} ${((wall * 1000) / n).toFixed(3)} µs/request wall, ${((used.user + used.system) / n).toFixed(3)} µs CPU`);
}

// 2-4. Postgres: two databases objects (pools), as two replicas have.
const temporary = process.env.DATABASE_URL ? null : await startPostgres();
const url = process.env.DATABASE_URL ?? (await temporary!.createDatabase('rate_bench'));
const settings = { url, poolSize: POOL, connectTimeoutMs: 5000, statementTimeoutMs: 30_000 };
const replicas = [new PostgresDatabase(settings), new PostgresDatabase(settings)];
try {
  await Promise.all(replicas.map((r) => r.init()));
  const buckets = replicas.map((db) => new PostgresRateBuckets(db));
  const roomy = { capacity: 1e9, refillPerSecond: 1e6 };
  const take = (i: number, key: string, config = roomy) => buckets[i % 2]!.take(`bench:${key}`, config);

  // Two "replicas" racing for one bucket of 50 (no refill to speak of) admit exactly 50.
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => take(i, 'check', { capacity: 50, refillPerSecond: 1e-9 })));
  const admitted = results.filter((r) => r.allowed).length;
  if (admitted !== 50) throw new Error(`the shared bucket admitted ${admitted} of 200 against a burst of 50`);
  console.log('check: 200 racing requests from 2 pools against one bucket of 50: 50 admitted');

  await timed(200, 4, (i) => take(i, 'warm')); // connections open
  report('Postgres, 1 at a time, 1 key', await timed(REQUESTS, 1, (i) => take(i, 'hot')));
  report('Postgres, 32 at once, 1 key (one API key)', await timed(REQUESTS, 32, (i) => take(i, 'hot')));
  report('Postgres, 32 at once, 1,000 keys', await timed(REQUESTS, 32, (i) => take(i, `key:${i % 1000}`)));
  await replicas[0]!.query("DELETE FROM rate_buckets WHERE key LIKE 'bench:%'");
} finally {
  await Promise.all(replicas.map((r) => r.close()));
  await temporary?.close();
}
