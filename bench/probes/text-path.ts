/**
 * Probe: where one `embedText` request's time goes in the server, per thread, in CPU time and in
 * time spent runnable but waiting for a core (so it can be read on a busy machine, where wall
 * time is mostly other people's work). Starts the server as `npm run bench` does, then runs
 * blocks of calls, alternating: `{ health }` over HTTP, `embedText` over HTTP, a bare text
 * `session.run` in this process (the bench's floor). Per block and per call it reads
 * /proc/PID/task/TID/schedstat of the server's threads (the ONNX workers name theirs: clip-text,
 * clip-vision-0, …) and of this process's threads.
 *
 *   npx tsx bench/probes/text-path.ts --model /tmp/b32 [--calls 100] [--blocks 4] [--warmup 20] [--per-block] [--env K=V …]
 *
 * `--warmup N` rounds of every kind before measuring (default 20). The server's request path is still
 * being compiled by V8 for minutes at a few dozen requests a second (its main thread's CPU per
 * `health` fell from 1.26 to 0.77 ms over 2,000 calls, its compiler threads' from 0.48 to 0.09 ms):
 * compare A and B at the same warm-up, and `--per-block` prints each block to see the trend.
 *
 * Prints, per kind of call: wall p50, then per thread group CPU ms per call and run-queue wait ms
 * per call. "embedText − health" on the main thread is the server's own work for an embedText
 * beyond the HTTP + GraphQL floor; clip-text CPU against the bare run's CPU says whether inference
 * in the worker costs more than in a bare session.
 */
import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { readModelJson, resolveModelFolder } from '../../src/clip/model-files.js';
import { ClipTokenizer, padBatch } from '../../src/clip/tokenize.js';
import { startBenchServer } from '../bench-server.js';
import { postGraphql, threadStats, type ThreadStat } from '../probe-client.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: '/tmp/b32' },
    calls: { type: 'string', default: '100' },
    blocks: { type: 'string', default: '4' },
    env: { type: 'string', multiple: true, default: [] },
    'text-threads': { type: 'string', default: '2' },
    kinds: { type: 'string', default: 'health,embedText,bare' },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'image-load': { type: 'string', default: '0' },
    warmup: { type: 'string', default: '20' },
    'per-block': { type: 'boolean', default: false },
  },
});
const REPO = path.resolve(import.meta.dirname, '..', '..');
const CALLS = Number(args.calls);
const BLOCKS = Number(args.blocks);
const THREADS = Number(args['text-threads']);
const EXTRA_ENV = Object.fromEntries(args.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

/** CPU and wait per group of threads (by name) between two snapshots, in ms per call. */
function perCall(a: Map<number, ThreadStat>, b: Map<number, ThreadStat>, calls: number): Record<string, { cpu: number; wait: number }> {
  const groups: Record<string, { cpu: number; wait: number }> = {};
  for (const [tid, s1] of b) {
    const s0 = a.get(tid) ?? { cpuNs: 0, waitNs: 0 };
    const g = (groups[s1.name] ??= { cpu: 0, wait: 0 });
    g.cpu += (s1.cpuNs - s0.cpuNs) / 1e6 / calls;
    g.wait += (s1.waitNs - s0.waitNs) / 1e6 / calls;
  }
  for (const k of Object.keys(groups)) if (groups[k]!.cpu < 0.005 && groups[k]!.wait < 0.005) delete groups[k];
  return groups;
}

const WORDS = ['corroded', 'cracked', 'leaking', 'worn', 'loose', 'bent', 'scorched', 'rusty', 'noisy', 'broken', 'dented', 'frayed'];
const PARTS = ['flange', 'valve', 'bearing housing', 'drive belt', 'gasket', 'impeller', 'pressure gauge', 'coupling', 'seal', 'motor mount', 'filter', 'hose'];
const sentence = (i: number) => `a ${WORDS[i % 12]} ${PARTS[Math.floor(i / 12) % 12]} on the inlet side of the pump number ${i}`;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-text-probe-'));
const server = await startBenchServer({ dataDir, model: args.model!, nodeArgs: args['node-arg'], env: { CLIP_TEXT_THREADS: String(THREADS), ...EXTRA_ENV } });
const { url, child } = server;

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(body.errors[0]!.message);
}

const spec = await resolveModelFolder(path.resolve(args.model!), 'fp32');
const json = await readModelJson(spec);
const tokenizer = new ClipTokenizer({ tokenizerJson: json.tokenizerJson, tokenizerConfigJson: json.tokenizerConfigJson });
const session = await ort.InferenceSession.create(path.join(spec.dir, spec.text.file), {
  intraOpNumThreads: THREADS,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});
const bare = async (i: number) => {
  const b = padBatch([tokenizer.encode(sentence(i), 77)], { contextLength: 77, fixedLength: spec.text.fixedLength, padId: spec.text.padId ?? tokenizer.eosId });
  const feeds: Record<string, ort.Tensor> = { [spec.text.inputIds]: new ort.Tensor('int64', b.ids, [b.batch, b.length]) };
  if (spec.text.attentionMask) feeds[spec.text.attentionMask] = new ort.Tensor('int64', b.attentionMask, [b.batch, b.length]);
  const out = await session.run(feeds);
  for (const t of Object.values(out)) t.dispose();
};

const allKinds: Record<string, (i: number) => Promise<void>> = {
  health: () => gql('{ health { status } }'),
  embedText: (i) => gql('query ($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [sentence(i)] }),
  bare,
};
/** `health` through node:http with a keep-alive agent instead of fetch (undici): the client's share of the round trip. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
allKinds.healthHttp = async () => {
  await postGraphql(url, agent, '{ health { status } }');
};
/** `health` right after a bare run in this process (its caches evicted, as embedText's are): the cold floor. */
const coldHealth = async (i: number) => {
  await bare(i);
  await allKinds.health!(i);
};
const kinds = Object.fromEntries(args.kinds!.split(',').map((k) => [k, k === 'coldHealth' ? coldHealth : allKinds[k]!]));
/** `--image-load N`: N embedImage requests kept in flight meanwhile (each photo made distinct by trailing bytes, so no cache answers). */
const IMAGE_LOAD = Number(args['image-load']);
const photosDir = path.join(REPO, 'test', 'fixtures', 'reference', 'photos');
const photos = readdirSync(photosDir).filter((f) => /\.jpe?g$/i.test(f)).map((f) => readFileSync(path.join(photosDir, f)));
let imageStop = false;
let imagesDone = 0;
const imageLoops = Array.from({ length: IMAGE_LOAD }, async (_, k) => {
  for (let i = k; !imageStop; i += IMAGE_LOAD) {
    const bytes = Buffer.concat([photos[i % photos.length]!, Buffer.from(`distinct ${i}`)]);
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'query ($image: Upload!) { embedImage(image: $image) { dim } }', variables: { image: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.image'] }));
    form.append('0', new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
    const res = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
    await res.arrayBuffer();
    imagesDone++;
  }
});
type Sample = { wall: number[]; server: Record<string, { cpu: number; wait: number }>; self: Record<string, { cpu: number; wait: number }>; load: number };
const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
let n = 1_000_000;
for (let i = 0; i < Number(args.warmup); i++) for (const k of Object.values(kinds)) await k(n++); // warm up
for (let block = 0; block < BLOCKS; block++) {
  for (const [name, call] of Object.entries(kinds)) {
    const wall: number[] = [];
    const s0 = threadStats(child.pid!);
    const b0 = threadStats(process.pid);
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      await call(n++);
      wall.push(performance.now() - t);
    }
    samples[name]!.push({ wall, server: perCall(s0, threadStats(child.pid!), CALLS), self: perCall(b0, threadStats(process.pid), CALLS), load: os.loadavg()[0]! });
    if (args['per-block']) {
      const last = samples[name]!.at(-1)!;
      const cpu = (k: string) => (last.server[k]?.cpu ?? 0).toFixed(2);
      console.log(`block ${block} ${name.padEnd(10)} server main cpu ${cpu('main')} node cpu ${cpu('node')} ms/call, wall p50 ${[...wall].sort((a, b) => a - b)[wall.length >> 1]!.toFixed(2)} ms, loadavg ${last.load.toFixed(1)}`);
    }
  }
}

imageStop = true;
await Promise.all(imageLoops);
if (IMAGE_LOAD > 0) console.log(`images embedded meanwhile: ${imagesDone}`);
const pctl = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;
for (const [name, ss] of Object.entries(samples)) console.log(`${name} wall p95 ${pctl(ss.flatMap((s) => s.wall), 0.95).toFixed(2)} ms`);
// Priorities as they stand: the nice value of each named thread group of the server.
const nices = new Map<string, Set<number>>();
for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
  try {
    const name = Number(tid) === child.pid ? 'main' : readFileSync(`/proc/${child.pid}/task/${tid}/comm`, 'utf8').trim();
    const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
    const set = nices.get(name) ?? new Set<number>();
    set.add(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    nices.set(name, set);
  } catch {
    // ended meanwhile
  }
}
console.log(`server thread nice values: ${[...nices].map(([k, v]) => `${k} ${[...v].join('/')}`).join(', ')}`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (v: number) => v.toFixed(2);
for (const [name, ss] of Object.entries(samples)) {
  const wall = median(ss.flatMap((s) => s.wall));
  const groups = new Set(ss.flatMap((s) => [...Object.keys(s.server).map((k) => `server:${k}`), ...Object.keys(s.self).map((k) => `probe:${k}`)]));
  const parts = [...groups].sort().map((g) => {
    const [side, k] = g.split(':') as ['server' | 'probe', string];
    const pick = (s: Sample) => (side === 'server' ? s.server : s.self)[k] ?? { cpu: 0, wait: 0 };
    return `${g} cpu ${f(median(ss.map((s) => pick(s).cpu)))} wait ${f(median(ss.map((s) => pick(s).wait)))}`;
  });
  console.log(`${name.padEnd(10)} wall p50 ${f(wall)} ms | per call (ms, median of ${ss.length} blocks of ${CALLS}): ${parts.join(' | ')} | loadavg ${ss.map((s) => s.load.toFixed(1)).join(' ')}`);
}
await session.release();
await server.stop();
rmSync(dataDir, { recursive: true, force: true });
