/**
 * Probe: where the server's CPU goes per `embedImage` over HTTP, thread by thread (not only by
 * kind, as `npm run bench` prints it). Starts the server like the bench, keeps N requests in flight
 * with distinct JPEGs (the bench's generator), and prints CPU ms per image for every server thread
 * (name, nice, tid), the client's CPU per image and the batch sizes. Optionally records the whole
 * server process with `perf` for the measured window, so the unnamed `node` threads can be told
 * apart by what they run (V8 GC and compilers, libuv pool: sharp, fs, zlib; kernel).
 *
 *   npx tsx bench/probes/image-http.ts --model /tmp/b32 [--seconds 15] [--concurrency 8]
 *     [--warmup N] [--env K=V ...] [--server-log FILE] [--client fetch|http] [--perf /tmp/x.data] [--node-arg --perf-basic-prof]
 *
 * `--client http` posts prebuilt multipart bodies through node:http keep-alive sockets (the client's
 * own CPU per image then drops to ~1 ms); `fetch` builds a FormData per request, like the bench.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchServer } from '../bench-server.js';
import { makeBenchImages, multipartEmbedImage, postMultipart } from '../bench-images.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: '/tmp/b32' },
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '8' },
    images: { type: 'string', default: '400' },
    warmup: { type: 'string', default: '16' },
    env: { type: 'string', multiple: true, default: [] },
    client: { type: 'string', default: 'http' },
    perf: { type: 'string' },
    'server-log': { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const env = Object.fromEntries(args.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

interface ThreadStat {
  comm: string;
  nice: number;
  ticks: number;
}
function threads(pid: number | 'self'): Map<string, ThreadStat> {
  const out = new Map<string, ThreadStat>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const c = st.lastIndexOf(')');
      const f = st.slice(c + 2).split(' ');
      out.set(tid, { comm: st.slice(st.indexOf('(') + 1, c), nice: Number(f[16]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the thread ended
    }
  }
  return out;
}
const ticksOf = (m: Map<string, ThreadStat>) => [...m.values()].reduce((t, v) => t + v.ticks, 0);

async function batchSizes(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^fieldscope_encoder_batch_size_sum\{encoder="image"\} ([\d.e+-]+)$/m.exec(text);
  const n = /^fieldscope_encoder_batch_size_count\{encoder="image"\} ([\d.e+-]+)$/m.exec(text);
  return { sum: Number(m?.[1] ?? 0), count: Number(n?.[1] ?? 0) };
}

const images = await makeBenchImages(Number(args.images));
const bodies = images.map((b) => multipartEmbedImage(b));
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-image-http-'));
const server = await startBenchServer({ dataDir, model: args.model!, env: { CLIP_ALLOW_TEST_MODEL: 'true', ...env }, nodeArgs: args['node-arg'] });
const pid = server.child.pid!;
if (args['server-log']) server.child.stdout!.pipe(createWriteStream(args['server-log']));
let next = 0;
const post = async (i: number) => {
  const bytes = images[i % images.length]!;
  if (args.client === 'fetch') {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'query ($image: Upload!) { embedImage(image: $image) { dim } }', variables: { image: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.image'] }));
    form.append('0', new Blob([bytes], { type: 'image/jpeg' }), 'photo.jpg');
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
    const body = (await res.json()) as { data?: unknown };
    if (!body.data) throw new Error(JSON.stringify(body));
  } else {
    await postMultipart(server.url, bodies[i % bodies.length]!);
  }
};
try {
  for (let i = 0; i < Number(args.warmup); i++) await post(next++);
  let stop = false;
  let done = 0;
  let counting = false;
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      await post(next++);
      if (counting) done++;
    }
  });
  await new Promise((r) => setTimeout(r, 2000));
  const perf = args.perf ? spawn('perf', ['record', '-F', '999', '-g', '-p', String(pid), '-o', args.perf, '--', 'sleep', String(SECONDS)], { stdio: 'inherit' }) : null;
  const b0 = await batchSizes(server.url);
  const th0 = threads(pid);
  // The client's own CPU from the process counter: summing /proc/self/task would lose the ticks of
  // threads that ended between the two readings (the figure came out negative).
  const me0 = process.cpuUsage();
  const t0 = performance.now();
  counting = true;
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  counting = false;
  const secs = (performance.now() - t0) / 1000;
  const th1 = threads(pid);
  const me = process.cpuUsage(me0);
  const b1 = await batchSizes(server.url);
  stop = true;
  await Promise.all(loops);
  if (perf) await new Promise((r) => perf.once('exit', r));
  const ips = done / secs;
  const perImage = (ticks: number) => ((ticks * 10) / done).toFixed(2);
  const rows = [...th1].map(([tid, v]) => ({ tid, ...v, d: v.ticks - (th0.get(tid)?.ticks ?? 0) })).filter((r) => r.d > 0).sort((a, b) => b.d - a.d);
  console.log(`env ${JSON.stringify(env)} client ${args.client}: ${ips.toFixed(1)} images/s, ${done} images in ${secs.toFixed(1)} s, loadavg ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`mean batch ${((b1.sum - b0.sum) / Math.max(1, b1.count - b0.count)).toFixed(2)} (${b1.count - b0.count} batches)`);
  console.log(`CPU ms per image: server ${perImage(ticksOf(th1) - ticksOf(th0))}, client ${perImage((me.user + me.system) / 10_000)}`);
  // By kind, as npm run bench splits it: main, inference (niced, not libvips), libvips, other (V8 helpers: GC and compilers; libuv pool: sharp's calls, fs).
  const mainNice = th1.get(String(pid))?.nice ?? 0;
  const kindOf = (r: (typeof rows)[number]) => (r.tid === String(pid) ? 'main' : /vips/i.test(r.comm) ? 'libvips' : r.nice > mainNice ? 'inference' : 'other');
  const kinds: Record<string, number> = { main: 0, inference: 0, libvips: 0, other: 0 };
  for (const r of rows) kinds[kindOf(r)]! += r.d;
  console.log(`by kind (ms/img): ${Object.entries(kinds).map(([k, v]) => `${k} ${perImage(v)}`).join(', ')}`);
  for (const r of rows) console.log(`  ${r.tid.padStart(7)} ${r.comm.padEnd(16)} nice ${String(r.nice).padStart(3)}  ${perImage(r.d)} ms/img`);
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
