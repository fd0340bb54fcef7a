/**
 * A bounded load test against the real server on 127.0.0.1: several API keys (technician,
 * agent, admin) mixing text searches, photo searches, asks and photo uploads.
 *
 *   npm run load -- [--seconds 20] [--concurrency 8] [--model models/tiny-clip]
 *
 * Starts `node --import tsx src/main.ts` with a temporary DATA_DIR and keys file (demo loaded),
 * runs for the given time, then stops the server and prints throughput, p50/p95 per operation,
 * errors by code, 5xx responses and the server's peak memory (VmHWM). Tenants: one (tenant
 * isolation is not built yet), so there is no cross-tenant check to report.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { hashKey } from '../src/auth/api-keys.js';
import { percentile } from './synthetic-corpus.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SECONDS = Number(arg('seconds', '20'));
const CONCURRENCY = Number(arg('concurrency', '8'));
const MODEL = arg('model', 'models/tiny-clip');
const KEYS = { tech: 'load-tech-0123456789abcdefghij', agent: 'load-agent-0123456789abcdefghij', admin: 'load-admin-0123456789abcdefghij' };

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-load-'));
writeFileSync(
  path.join(dir, 'keys.json'),
  JSON.stringify({ keys: [{ name: 'tech', role: 'technician', tenant: 'acme', keyHash: hashKey(KEYS.tech) }, { name: 'agent', role: 'agent', tenant: 'acme', keyHash: hashKey(KEYS.agent) }, { name: 'admin', role: 'admin', tenant: 'acme', keyHash: hashKey(KEYS.admin) }] }),
);
const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  env: { ...process.env, PORT: '0', DATA_DIR: path.join(dir, 'data'), CLIP_MODEL: MODEL, AUTH_KEYS_FILE: path.join(dir, 'keys.json'), LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_BURST: '10000' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    const m = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(out);
    if (m) resolve(m[1]!);
  });
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

const photos = await Promise.all(['valve-bv50.jpg', 'gauge-pg63.png', 'pump-p200.jpg'].map((f) => readFileSync(path.join('demo', 'photos', f))));
const questions = ['How do I replace the mechanical seal on the P-200?', 'torque for the ball valve packing nut', 'lock-out tag-out steps', 'pressure gauge PG-63 range', 'hydraulic hose fitting sizes', 'thermostat wiring TC-2.1'];
let uploadCounter = 0;

async function post(key: string, body: string | FormData, headers: Record<string, string>): Promise<{ status: number; code: string | null }> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', body, headers: { authorization: `Bearer ${key}`, ...headers } });
  const json = (await res.json().catch(() => ({}))) as { errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, code: json.errors?.[0]?.extensions?.code ?? null };
}
const jsonOp = (key: string, query: string, variables: Record<string, unknown>) => post(key, JSON.stringify({ query, variables }), { 'content-type': 'application/json' });
function uploadOp(key: string, query: string, bytes: Uint8Array, variable: string) {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { [variable]: null } }));
  form.append('map', JSON.stringify({ 0: [`variables.${variable}`] }));
  form.append('0', new Blob([bytes]), 'photo.jpg');
  return post(key, form, { 'apollo-require-preflight': 'true' });
}

const ops: [string, number, () => Promise<{ status: number; code: string | null }>][] = [
  ['search text', 45, () => jsonOp(KEYS.tech, 'query($t: String) { search(text: $t) { noGoodMatch hits { document { id } page { number } } } }', { t: questions[Math.floor(Math.random() * questions.length)] })],
  ['search photo', 15, () => uploadOp(KEYS.tech, 'query($image: Upload) { search(image: $image) { hits { photo { id } document { id } } } }', photos[Math.floor(Math.random() * photos.length)]!, 'image')],
  ['ask', 25, () => jsonOp(KEYS.agent, 'query($q: String) { ask(question: $q) { text mode citations { marker } } }', { q: questions[Math.floor(Math.random() * questions.length)] })],
  ['upload photo', 10, async () => uploadOp(KEYS.admin, 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', await sharp(photos[0]!).modulate({ brightness: 1 + (++uploadCounter % 50) / 100 }).jpeg().toBuffer(), 'file')],
  ['forbidden (tech ingests)', 5, () => uploadOp(KEYS.tech, 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', photos[0]!, 'file')],
];
const totalWeight = ops.reduce((a, o) => a + o[1], 0);
const pick = () => {
  let r = Math.random() * totalWeight;
  for (const o of ops) if ((r -= o[1]) <= 0) return o;
  return ops[0]!;
};

const latencies = new Map<string, number[]>();
const errors = new Map<string, number>();
let fivexx = 0;
let done = 0;
const end = Date.now() + SECONDS * 1000;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      const [name, , run] = pick();
      const t = performance.now();
      const r = await run().catch(() => ({ status: 0, code: 'NETWORK' }));
      const ms = performance.now() - t;
      done++;
      (latencies.get(name) ?? latencies.set(name, []).get(name)!).push(ms);
      if (r.status >= 500) fivexx++;
      if (r.code) errors.set(`${name}: ${r.code}`, (errors.get(`${name}: ${r.code}`) ?? 0) + 1);
    }
  }),
);
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 'NaN');
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });

console.log(`load: ${SECONDS} s, ${CONCURRENCY} concurrent clients, 3 keys (technician, agent, admin), model ${MODEL}, ${os.cpus().length} CPUs`);
console.log(`throughput: ${(done / SECONDS).toFixed(1)} requests/s (${done} requests)`);
for (const [name, values] of latencies) console.log(`  ${name.padEnd(26)} n=${String(values.length).padStart(5)}  p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms  p95 ${percentile(values, 95).toFixed(1).padStart(7)} ms`);
console.log(`errors by code: ${errors.size === 0 ? 'none' : [...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
console.log(`5xx responses: ${fivexx}`);
console.log(`server peak memory (VmHWM): ${(peakKb / 1024).toFixed(0)} MB`);
console.log('cross-tenant results: not applicable (one tenant; tenant isolation is not built yet)');
if (fivexx > 0) process.exitCode = 1;
