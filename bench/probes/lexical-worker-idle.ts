/**
 * What the lexical worker's lazy start and idle stop (store/sqlite/lexical-thread.ts) change for a
 * process holding many tenant stores: RSS with N stores of 5,000 pages (lexicalWorkerMinRows) open,
 * started as before (a worker per store at open: `--eager`, which calls start() after init) or
 * lazily (today); after one search each; after the workers' idle stop. Then the first searches after
 * an idle stop (on the calling thread while the worker loads) against searches on a ready worker.
 * CPU is the whole process's.
 *   npx tsx bench/probes/lexical-worker-idle.ts [--tenants 8] [--eager]
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteKnowledgeStore } from '../../src/store/sqlite/sqlite-knowledge-store.js';

const args = process.argv.slice(2);
const TENANTS = Number(args[args.indexOf('--tenants') + 1] ?? 8) || 8;
const EAGER = args.includes('--eager');
const PAGES = 5_000;
const DIM = 8;
const WORDS = 'pump valve seal gasket bearing shaft impeller motor filter pressure flow sensor coupling housing flange bolt torque inspect replace remove install clean check drain lubricate grease leak noise wear crack'.split(' ');
const dir = path.join(os.tmpdir(), 'fs-lexical-idle-probe');
const seed = path.join(dir, 'seed.db');

async function makeSeed(): Promise<void> {
  mkdirSync(dir, { recursive: true });
  if (existsSync(seed)) return;
  const s = new SqliteKnowledgeStore({ file: seed, dim: DIM, modelId: 'p', lexicalWorkerMinRows: Infinity });
  await s.init();
  for (let d = 0; d < PAGES / 50; d++) {
    const pages = Array.from({ length: 50 }, (_, p) => ({ number: p + 1, text: Array.from({ length: 40 }, (_, w) => WORDS[(d * 131 + p * 17 + w * w * 7) % WORDS.length]).join(' ') + ` part-${d}-${p}`, thumbnailKey: null, imageVector: null, chunks: [], identifiers: [] }));
    await s.addDocument({ document: { id: `d${d}`, title: 't', kind: 'text', mimeType: 'text/plain', contentHash: `h${d}`, byteSize: 1, pageCount: 50, metadata: {}, blobKey: `b${d}`, createdAt: new Date().toISOString() }, pages });
  }
  await s.close();
}

const mb = (): string => `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await makeSeed();
const stores: SqliteKnowledgeStore[] = [];
console.log(`${TENANTS} tenant stores of ${PAGES.toLocaleString('en')} pages, ${EAGER ? 'eager (a worker started at open, as before)' : 'lazy (today)'}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
global.gc?.();
await settle(200);
console.log(`RSS before opening: ${mb()}`);
let c0 = cpuMs();
for (let t = 0; t < TENANTS; t++) {
  const file = path.join(dir, `tenant-${t}.db`);
  rmSync(file, { force: true });
  copyFileSync(seed, file);
  const s = new SqliteKnowledgeStore({ file, dim: DIM, modelId: 'p' });
  await s.init();
  s.lexicalThreadForTests()!.idleMs = 4_000; // short, to see the stop (LEXICAL_WORKER_IDLE_MS in a server)
  if (EAGER) await s.lexicalThreadForTests()!.start();
  stores.push(s);
}
await settle(1000);
console.log(`RSS with ${TENANTS} stores open: ${mb()} (workers running: ${stores.filter((s) => s.lexicalThreadForTests()!.state !== 'stopped').length}; open CPU ${(cpuMs() - c0).toFixed(0)} ms)`);
c0 = cpuMs();
for (const s of stores) await s.searchLexical('pump valve', 10);
await Promise.all(stores.map((s) => s.lexicalThreadForTests()!.start()));
console.log(`RSS after one search each: ${mb()} (workers: ${stores.filter((s) => s.lexicalThreadForTests()!.state === 'ready').length}; CPU ${(cpuMs() - c0).toFixed(0)} ms)`);
await settle(8_000);
global.gc?.();
await settle(500);
console.log(`RSS after idle stop: ${mb()} (workers: ${stores.filter((s) => s.lexicalThreadForTests()!.state !== 'stopped').length})`);

// First searches after idle against a ready worker, same store, same queries.
const s = stores[0]!;
const thread = s.lexicalThreadForTests()!;
const queries = ['pump valve', 'gasket bearing shaft', 'torque', 'flange bolt pressure', 'impeller motor', 'leak noise', 'drain lubricate grease', 'crack wear'];
const time = async (q: string): Promise<number> => {
  const t = performance.now();
  await s.searchLexical(q, 10);
  return performance.now() - t;
};
const afterIdle: string[] = [];
const t0 = performance.now();
for (const q of queries) afterIdle.push(`${(await time(q)).toFixed(2)}${thread.state === 'ready' ? 'w' : ''}`);
const waitedFor = performance.now() - t0;
await thread.start();
const ready = [];
for (const q of queries) ready.push((await time(q)).toFixed(2));
console.log(`first ${queries.length} searches after idle (ms; calling thread while the worker loads, ${waitedFor.toFixed(0)} ms in all): ${afterIdle.join(' ')}`);
console.log(`same searches on the ready worker (ms): ${ready.join(' ')}`);
for (const st of stores) await st.close();
rmSync(dir, { recursive: true, force: true });
