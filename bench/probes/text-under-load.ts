/**
 * Probe: `embedText` latency under image load, A/B between server settings, configurations
 * alternating round by round (p95 is noisy: repeat). Per configuration and round: idle p50, then
 * 8 distinct `embedImage` in flight alone (images/s), then the same load with `embedText` back to
 * back (p50, p95, p95 ÷ idle p50, images/s meanwhile), and per query the run-queue wait of the
 * server's threads from /proc/PID/task/TID/schedstat.
 *
 * With `--perf` (Linux, root: `perf` with sched tracepoints) it also says WHO held the core while
 * a `clip-text` thread waited for one: each wait (wakeup or preemption → switched in) is charged to
 * whatever ran on the core it was queued on: image threads (clip-vision-N, libvips), the server's
 * main thread, its other threads, or other processes. That split holds on a busy machine, where the
 * wall figures mostly measure other people's work.
 *
 *   npx tsx bench/probes/text-under-load.ts --model /tmp/b32 \
 *     --config 'idle:' --config 'nice:CLIP_IMAGE_SCHED_IDLE=false' [--rounds 3] [--seconds 10] [--perf]
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchServer } from '../bench-server.js';
import { postGraphql, threadStats, type ThreadStat } from '../probe-client.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: '/tmp/b32' },
    config: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    idle: { type: 'string', default: '60' },
    perf: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const configs = (args.config.length > 0 ? args.config : ['default:']).map((c) => {
  const name = c.slice(0, c.indexOf(':'));
  const env = Object.fromEntries(
    c
      .slice(c.indexOf(':') + 1)
      .split(/\s+/)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  return { name, env };
});

const photosDir = path.join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'reference', 'photos');
const photos = readdirSync(photosDir).map((f) => readFileSync(path.join(photosDir, f)));
let imageCounter = 0;
let textCounter = 0;
const WORDS = ['corroded', 'cracked', 'leaking', 'worn', 'loose', 'bent', 'scorched', 'rusty', 'noisy', 'broken', 'dented', 'frayed'];
const PARTS = ['flange', 'valve', 'bearing housing', 'drive belt', 'gasket', 'impeller', 'pressure gauge', 'coupling', 'seal', 'motor mount', 'filter', 'hose'];
const sentence = (i: number) => `a ${WORDS[i % 12]} ${PARTS[Math.floor(i / 12) % 12]} on the inlet side of the pump number ${i}`;

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
async function embedText(url: string): Promise<void> {
  await postGraphql(url, agent, 'query ($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [sentence(textCounter++)] });
}

/** A photo made distinct by trailing bytes (decoders ignore them), so the embedding cache never answers. */
async function embedImage(url: string): Promise<void> {
  const i = imageCounter++;
  const bytes = Buffer.concat([photos[i % photos.length]!, Buffer.from(`distinct ${i} ${process.pid}`)]);
  const form = new FormData();
  form.append('operations', JSON.stringify({ query: 'query ($image: Upload!) { embedImage(image: $image) { dim } }', variables: { image: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.image'] }));
  form.append('0', new Blob([bytes]), 'photo.jpg');
  const res = await fetch(`${url}/graphql`, { method: 'POST', body: form, headers: { 'apollo-require-preflight': 'true' } });
  const b = (await res.json()) as { errors?: { message: string }[] };
  if (b.errors?.length) throw new Error(b.errors[0]!.message);
}

function groupDelta(a: Map<number, ThreadStat>, b: Map<number, ThreadStat>, name: string): { cpu: number; wait: number } {
  let cpu = 0;
  let wait = 0;
  for (const [tid, s] of b) {
    if (s.name !== name) continue;
    const s0 = a.get(tid) ?? { cpuNs: 0, waitNs: 0 };
    cpu += s.cpuNs - s0.cpuNs;
    wait += s.waitNs - s0.waitNs;
  }
  return { cpu: cpu / 1e6, wait: wait / 1e6 };
}
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

/** `concurrency` loops posting distinct images; images/s counted after a 2 s warm-up, while `during` runs. */
async function imageLoad(url: string, during: () => Promise<void>): Promise<number> {
  let stop = false;
  const done: number[] = [];
  const loops = Array.from({ length: Number(args.concurrency) }, async () => {
    while (!stop) {
      await embedImage(url);
      done.push(performance.now());
    }
  });
  await new Promise((r) => setTimeout(r, 2000));
  const start = performance.now();
  await during();
  const end = performance.now();
  stop = true;
  await Promise.all(loops);
  return done.filter((t) => t >= start && t <= end).length / ((end - start) / 1000);
}

// --- perf: who held the core while clip-text waited ------------------------------------------

type Kind = 'image' | 'server-main' | 'server-other' | 'text' | 'other' | 'idle';

function kindOf(names: Map<number, string>, tid: number): Kind {
  const n = names.get(tid);
  if (n === undefined) return tid === 0 ? 'idle' : 'other';
  if (n === 'clip-text') return 'text';
  if (n.startsWith('clip-vision') || n === 'libvips worker') return 'image';
  return n === 'main' ? 'server-main' : 'server-other';
}

/** Per query: clip-text wait (ms) charged to what ran on the queued-on core. */
function blame(perfData: string, names: Map<number, string>, queries: number): string {
  const out = execFileSync('perf', ['script', '-i', perfData, '-F', 'cpu,time,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const text = new Set([...names].filter(([, n]) => n === 'clip-text').map(([t]) => t));
  const sw = /\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch:.*prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> .*next_pid=(\d+)/;
  const wk = /\[(\d+)\]\s+([\d.]+):\s+sched:sched_wakeup:.*pid=(\d+) prio=\d+ target_cpu=(\d+)/;
  const running = new Map<number, { since: number; tid: number }>();
  const intervals = new Map<number, { start: number; end: number; kind: Kind }[]>();
  const waiting = new Map<number, { since: number; cpu: number }>();
  const waits: { start: number; end: number; cpu: number }[] = [];
  for (const line of out.split('\n')) {
    const s = sw.exec(line);
    if (s) {
      const [cpu, t, prev, state, next] = [Number(s[1]), Number(s[2]), Number(s[3]), s[4]!, Number(s[5])];
      const r = running.get(cpu);
      if (r) (intervals.get(cpu) ?? intervals.set(cpu, []).get(cpu)!).push({ start: r.since, end: t, kind: kindOf(names, r.tid) });
      running.set(cpu, { since: t, tid: next });
      if (text.has(prev) && state.startsWith('R')) waiting.set(prev, { since: t, cpu });
      const w = waiting.get(next);
      if (text.has(next) && w) {
        waits.push({ start: w.since, end: t, cpu: w.cpu });
        waiting.delete(next);
      }
      continue;
    }
    const w = wk.exec(line);
    if (w && text.has(Number(w[3])) && !waiting.has(Number(w[3]))) waiting.set(Number(w[3]), { since: Number(w[2]), cpu: Number(w[4]) });
  }
  const held: Record<string, number> = {};
  let total = 0;
  for (const w of waits) {
    total += w.end - w.start;
    for (const iv of intervals.get(w.cpu) ?? []) {
      const overlap = Math.min(w.end, iv.end) - Math.max(w.start, iv.start);
      if (overlap > 0) held[iv.kind] = (held[iv.kind] ?? 0) + overlap;
    }
  }
  const ms = (s: number) => ((s * 1000) / queries).toFixed(1);
  return `clip-text wait ${ms(total)} ms/query (${(waits.length / queries).toFixed(0)} waits), core held meanwhile by: ${Object.entries(held)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${ms(v)}`)
    .join(', ')}`;
}

// --- rounds -----------------------------------------------------------------------------------

const f1 = (v: number) => v.toFixed(1);
for (let round = 1; round <= Number(args.rounds); round++) {
  for (const cfg of configs) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-text-under-load-'));
    const server = await startBenchServer({ dataDir, model: args.model!, env: cfg.env });
    const pid = server.child.pid!;
    const perfData = path.join(dataDir, 'perf.data');
    try {
      for (let i = 0; i < 20; i++) await embedText(server.url);
      const idle: number[] = [];
      for (let i = 0; i < Number(args.idle); i++) {
        const t = performance.now();
        await embedText(server.url);
        idle.push(performance.now() - t);
      }
      const load0 = os.loadavg()[0]!;
      const alone = await imageLoad(server.url, () => new Promise((r) => setTimeout(r, SECONDS * 1000)));
      const loaded: number[] = [];
      let [s0, s1] = [threadStats(pid), threadStats(pid)];
      let perf: ChildProcess | null = null;
      const during = await imageLoad(server.url, async () => {
        if (args.perf) {
          perf = spawn('perf', ['record', '-q', '-e', 'sched:sched_switch', '-e', 'sched:sched_wakeup', '-a', '-o', perfData], { stdio: 'ignore' });
          await new Promise((r) => setTimeout(r, 300));
        }
        s0 = threadStats(pid);
        const deadline = performance.now() + SECONDS * 1000;
        while (performance.now() < deadline) {
          const t = performance.now();
          await embedText(server.url);
          loaded.push(performance.now() - t);
        }
        s1 = threadStats(pid);
        if (perf) {
          const p: ChildProcess = perf;
          const exited = new Promise((r) => p.once('exit', r));
          p.kill('SIGINT');
          await exited;
        }
      });
      const n = loaded.length;
      const per = (name: string) => {
        const d = groupDelta(s0, s1, name);
        return `${name} cpu ${f1(d.cpu / n)} wait ${f1(d.wait / n)}`;
      };
      const [p50, p95] = [pct(idle, 0.5), pct(loaded, 0.95)];
      console.log(
        `round ${round} ${cfg.name.padEnd(10)} idle p50 ${f1(p50)} ms | under load p50 ${f1(pct(loaded, 0.5))} p95 ${f1(p95)} ms = ${(p95 / p50).toFixed(2)}× idle p50 | ` +
          `images/s alone ${f1(alone)}, during text ${f1(during)} | per query (ms): ${per('clip-text')}, ${per('main')} | loadavg ${f1(load0)}–${f1(os.loadavg()[0]!)}`,
      );
      if (args.perf) console.log(`    ${blame(perfData, new Map([...threadStats(pid)].map(([tid, s]) => [tid, s.name])), n)}`);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}
