/**
 * Rate limits across replicas. With the records on Postgres (VECTOR_STORE=qdrant, DATABASE_URL),
 * the buckets are there too, so a client spread over two replicas gets RATE_LIMIT_BURST requests
 * in all, not twice that (before: each replica kept its own buckets in memory). Two servers on
 * one real Postgres and the Qdrant double; requests alternate between them as round robin does.
 * While Postgres is down the replicas limit on their own (no request fails because of the
 * limiter), and share again once it is back.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeQdrant, type FakeQdrant } from '../helpers/fake-qdrant.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { gql, startTestServer, waitUntilReady } from '../helpers/server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const BURST = 4;

describe('rate-limit buckets shared by replicas through Postgres', () => {
  let postgres: TestPostgres;
  let qdrant: FakeQdrant;
  const replicas: Awaited<ReturnType<typeof startTestServer>>[] = [];
  let url: string;
  async function query(text: string): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  }
  const bucketKeys = async () => (await query('SELECT key FROM rate_buckets ORDER BY key')).rows.map((r: { key: string }) => r.key);

  beforeAll(async () => {
    [postgres, qdrant] = await Promise.all([startPostgres(), startFakeQdrant()]);
    url = await postgres.createDatabase('rate_limits');
    for (let i = 0; i < 2; i++) {
      // One token a minute after the burst: nothing refills during the test.
      replicas.push(await startTestServer({ LOAD_DEMO: 'false', VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: '1000', RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_BURST: String(BURST) }));
    }
    for (const r of replicas) {
      await waitUntilReady(r.url);
    }
  }, 90_000);
  afterAll(async () => {
    for (const r of replicas) await r.close();
    await qdrant?.close();
    await postgres?.close();
  });

  /** `count` requests alternating between the replicas, from one client; the HTTP statuses. */
  async function roundRobin(count: number, headers: Record<string, string> = {}): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) statuses.push((await gql(replicas[i % 2]!.url, '{ __typename }', {}, headers)).status);
    return statuses;
  }

  it('a client spread over two replicas gets the burst once, not once per replica', async () => {
    const statuses = await roundRobin(3 * BURST);
    expect(statuses.filter((s) => s === 200)).toHaveLength(BURST);
    expect(statuses.slice(0, BURST)).toEqual(Array(BURST).fill(200));
    expect(statuses.slice(BURST).every((s) => s === 429)).toBe(true);
    const refused = await gql(replicas[1]!.url, '{ __typename }');
    expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused.errors?.[0]?.extensions?.retryAfterMs).toBeGreaterThan(30_000);
    // One row for this one client (the loopback address), whichever replica it reached.
    expect(await bucketKeys()).toEqual(['ip:127.0.0.1']);
  }, 60_000);

  it('while Postgres is down each replica limits on its own; no request fails for it', async () => {
    await postgres.stop();
    try {
      // This client's shared bucket is empty, but the replicas cannot see it: each has its own burst.
      const statuses = await roundRobin(2 * BURST + 2);
      expect(statuses.filter((s) => s === 200)).toHaveLength(2 * BURST);
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    } finally {
      await postgres.start();
    }
    // Back: with the shared bucket full again, the replicas admit BURST requests in all, though each
    // one's own bucket was emptied during the outage: the shared bucket decides again.
    await query('DELETE FROM rate_buckets');
    let first = 0;
    for (let waited = 0; first !== 200; waited += 200) {
      if (waited > 20_000) throw new Error('the replicas never went back to the shared buckets');
      await sleep(200);
      first = (await gql(replicas[0]!.url, '{ __typename }')).status;
    }
    const rest = await roundRobin(2 * BURST);
    expect(rest.filter((st) => st === 200)).toHaveLength(BURST - 1);
  }, 60_000);

});
