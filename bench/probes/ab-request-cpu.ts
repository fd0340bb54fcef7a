/**
 * Probe: the server's CPU per request for two checkouts of the code, side by side. Starts one
 * server from each folder (each folder's own bench/bench-server.ts, so each runs its own src/),
 * warms both up, then alternates blocks of calls between them (A B, B A, …) and prints, per
 * server and kind of call, the main thread's CPU ms per call (median of the blocks, and each
 * block), the other "node" threads' (V8's compiler and GC helpers, libuv's pool) and the wall p50.
 *
 * Why: a change that saves 0.05 ms of a 0.7 ms request is invisible in wall times on a machine
 * shared with other jobs, and the server's CPU per call drifts for thousands of calls while V8 is
 * still compiling the request path. Two servers measured in alternating blocks see the same load
 * and the same warm-up; the CPU figures (from /proc/PID/task/TID/schedstat) do not count the time
 * spent waiting for a core. An A/A run (the same code twice) moved by up to ~6% on a loadavg of 5-7.
 *
 *   git archive <sha> | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   npx tsx bench/probes/ab-request-cpu.ts --a /tmp/base --b . --model models/tiny-clip --kinds health,embedText
 *   npx tsx bench/probes/ab-request-cpu.ts --a /tmp/base --b . --model /tmp/b32 --rounds 8 --calls 100 --warmup 300
 *
 * On models/tiny-clip inference is ~0.3 ms, so `embedText` there measures the server's own path
 * with warm caches; on /tmp/b32 the main thread runs right after 150 MB of weights went through
 * the caches (see bench/README.md: a cold request costs about twice a warm one).
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { postGraphql, threadStats } from '../probe-client.js';
import type { BenchServer } from '../bench-server.js';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    model: { type: 'string', default: 'models/tiny-clip' },
    kinds: { type: 'string', default: 'health,embedText' },
    rounds: { type: 'string', default: '10' },
    calls: { type: 'string', default: '400' },
    warmup: { type: 'string', default: '3000' },
  },
});
if (!args.a || !args.b) throw new Error('--a and --b name the two checkouts (folders with src/, bench/ and node_modules)');
const ROUNDS = Number(args.rounds);
const CALLS = Number(args.calls);
const WARMUP = Number(args.warmup);
const KINDS = args.kinds!.split(',');
const MODEL = path.resolve(args.model!);

const QUERIES: Record<string, (i: number) => [string, Record<string, unknown>?]> = {
  health: () => ['{ health { status } }'],
  embedText: (i) => ['query ($t: [String!]!) { embedText(texts: $t) { dim } }', { t: [`a rusty flange on the inlet side of pump ${i}`] }],
};
for (const k of KINDS) if (!QUERIES[k]) throw new Error(`unknown kind ${k} (known: ${Object.keys(QUERIES).join(', ')})`);

interface Side {
  name: string;
  server: BenchServer;
  dataDir: string;
  agent: http.Agent;
}

async function start(name: string, dir: string): Promise<Side> {
  const { startBenchServer } = (await import(path.join(path.resolve(dir), 'bench', 'bench-server.ts'))) as typeof import('../bench-server.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `fieldscope-ab-${name}-`));
  const server = await startBenchServer({ dataDir, model: MODEL, env: { CLIP_TEXT_THREADS: '2', CLIP_ALLOW_TEST_MODEL: 'true' } });
  return { name, server, dataDir, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
}

const sides = [await start('A', args.a), await start('B', args.b)];
const call = (side: Side, kind: string, i: number) => {
  const [query, variables] = QUERIES[kind]!(i);
  return postGraphql(side.server.url, side.agent, query, variables);
};
/** CPU ns so far per thread name. */
const cpuByName = (pid: number) => {
  const out: Record<string, number> = {};
  for (const s of threadStats(pid).values()) out[s.name] = (out[s.name] ?? 0) + s.cpuNs;
  return out;
};

try {
  let n = 0;
  for (let i = 0; i < WARMUP; i++) for (const side of sides) for (const k of KINDS) await call(side, k, n++);
  const acc = new Map<string, { main: number[]; helpers: number[]; wall: number[] }>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of r % 2 ? [...sides].reverse() : sides) {
      for (const kind of KINDS) {
        const key = `${side.name} ${kind}`;
        const a = acc.get(key) ?? { main: [], helpers: [], wall: [] };
        acc.set(key, a);
        const c0 = cpuByName(side.server.child.pid!);
        for (let i = 0; i < CALLS; i++) {
          const t = performance.now();
          await call(side, kind, n++);
          a.wall.push(performance.now() - t);
        }
        const c1 = cpuByName(side.server.child.pid!);
        a.main.push((c1.main! - c0.main!) / 1e6 / CALLS);
        a.helpers.push(((c1.node ?? 0) - (c0.node ?? 0)) / 1e6 / CALLS);
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  console.log(`A = ${args.a}, B = ${args.b}, model ${MODEL}, ${ROUNDS} rounds of ${CALLS} calls per kind after ${WARMUP} warm-up rounds`);
  for (const [key, a] of acc) {
    console.log(
      `${key.padEnd(14)} main CPU ${median(a.main).toFixed(3)} ms/call (blocks ${a.main.map((x) => x.toFixed(2)).join(' ')}) | node threads ${median(a.helpers).toFixed(3)} | wall p50 ${median(a.wall).toFixed(2)} ms`,
    );
  }
  console.log(`loadavg ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  for (const side of sides) {
    await side.server.stop();
    rmSync(side.dataDir, { recursive: true, force: true });
  }
}
