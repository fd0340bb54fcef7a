/**
 * A bounded load test against the real server on 127.0.0.1: two tenants (acme, globex), each
 * with a technician, an agent and an admin key, mixing text searches, photo searches, asks,
 * photo uploads, refused calls, and guesses at the other tenant's document ids and files, over
 * HTTP and over long-lived WebSocket connections (graphql-ws: searches, streamed answers, and
 * calls the role may not make, which must be refused there as over HTTP). Half
 * the search and ask texts are new each time (the other half repeat, and hit the embedding cache).
 *
 *   npm run load -- [--seconds 20] [--concurrency 8] [--model models/tiny-clip] [--replicas 2 --stack scale]
 *
 * `--replicas N` starts N servers and sends each request to the next one (round robin, as a load
 * balancer would; each WebSocket stays on one). `--stack scale` runs them as the scale deployment,
 * each with its own empty DATA_DIR: on the Qdrant double, a real Postgres (Debian's, started in a
 * temp folder) and s3rver, the same servers the integration tests use (test/helpers); the default
 * `embedded` stack shares one DATA_DIR.
 *
 * Starts `node --import tsx src/main.ts` with a temporary DATA_DIR and keys file, gives each
 * tenant its own half of the demo knowledge base (plus one manual both hold), runs for the given
 * time, then stops the server and prints throughput, p50/p95 per operation, errors by code, 5xx
 * responses, the server's peak memory (VmHWM) and the number of cross-tenant results: any id
 * of the other tenant in a search hit, an answer's citation, a guessed `document(id)`, or a file
 * served to the other tenant's key. The exit code is 1 on any 5xx, cross-tenant result, or
 * WebSocket operation the caller's role should have been refused.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import sharp from 'sharp';
import WebSocket from 'ws';
import { hashKey } from '../src/auth/api-keys.js';
import { percentile } from './synthetic-corpus.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SECONDS = Number(arg('seconds', '20'));
const CONCURRENCY = Number(arg('concurrency', '8'));
const MODEL = arg('model', 'models/tiny-clip');
const REPLICAS = Number(arg('replicas', '1'));
const STACK = arg('stack', 'embedded');
if (!Number.isInteger(REPLICAS) || REPLICAS < 1 || !['embedded', 'scale'].includes(STACK)) throw new Error('--replicas takes a positive integer, --stack embedded or scale');
const TENANTS = ['acme', 'globex'] as const;
type TenantName = (typeof TENANTS)[number];
const ROLES = ['technician', 'agent', 'admin'] as const;
const keyOf = (tenant: TenantName, role: (typeof ROLES)[number]) => `load-${tenant}-${role}-0123456789abcdefghij`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-load-'));
writeFileSync(
  path.join(dir, 'keys.json'),
  JSON.stringify({ keys: TENANTS.flatMap((tenant) => ROLES.map((role) => ({ name: `${tenant}-${role}`, role, tenant, keyHash: hashKey(keyOf(tenant, role)) }))) }),
);
/** The scale stack's services, started here (the integration tests' helpers), and what the servers are told about them. */
async function scaleStack(): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const [{ startFakeQdrant }, { startPostgres }, { startTestS3 }] = await Promise.all([import('../test/helpers/fake-qdrant.js'), import('../test/helpers/postgres.js'), import('../test/helpers/s3rver.js')]);
  const [qdrant, postgres, s3] = await Promise.all([startFakeQdrant(), startPostgres(), startTestS3()]);
  await s3.createBucket('fieldscope-load');
  const databaseUrl = await postgres.createDatabase('load');
  return {
    env: { VECTOR_STORE: 'qdrant', QDRANT_URL: qdrant.url, DATABASE_URL: databaseUrl, ...s3.env('fieldscope-load'), FILE_URL_SECRET: 'load-test-file-url-secret-0123456789' },
    close: async () => {
      await Promise.all([qdrant.close(), postgres.close(), s3.close()]);
    },
  };
}
const stack = STACK === 'scale' ? await scaleStack() : { env: {}, close: async () => undefined };

function startReplica(index: number): { child: ReturnType<typeof spawn>; url: Promise<string> } {
  // Scale replicas hold nothing: each its own empty DATA_DIR. Embedded replicas share one.
  const dataDir = path.join(dir, STACK === 'scale' ? `data-${index}` : 'data');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, CLIP_MODEL: MODEL, AUTH_KEYS_FILE: path.join(dir, 'keys.json'), LOAD_DEMO: 'false', LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_BURST: '10000', ...stack.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server ${index} exited with ${code}`)));
  });
  return { child, url };
}
const replicas = Array.from({ length: REPLICAS }, (_, i) => startReplica(i));
const children = replicas.map((r) => r.child);
const urls = await Promise.all(replicas.map((r) => r.url));
// A remote store connects in the background: wait until every replica says it is ready.
for (const u of urls) {
  for (let waited = 0; (await fetch(`${u}/ready`)).status !== 200; waited += 100) {
    if (waited > 60_000) throw new Error(`${u} never became ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
let turn = 0;
/** The next replica, round robin (what a load balancer does). */
const nextUrl = () => urls[turn++ % urls.length]!;

const photoFiles = ['valve-bv50.jpg', 'gauge-pg63.png', 'pump-p200.jpg'];
const photos = photoFiles.map((f) => readFileSync(path.join('demo', 'photos', f)));
const questions = ['How do I replace the mechanical seal on the P-200?', 'torque for the ball valve packing nut', 'lock-out tag-out steps', 'pressure gauge PG-63 range', 'hydraulic hose fitting sizes', 'thermostat wiring TC-2.1'];
let uploadCounter = 0;

interface Reply {
  status: number;
  code: string | null;
  data: Record<string, unknown> | null;
}

async function post(key: string, body: string | FormData, headers: Record<string, string>): Promise<Reply> {
  const res = await fetch(`${nextUrl()}/graphql`, { method: 'POST', body, headers: { authorization: `Bearer ${key}`, ...headers } });
  const json = (await res.json().catch(() => ({}))) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] };
  return { status: res.status, code: json.errors?.[0]?.extensions?.code ?? null, data: json.data ?? null };
}
const jsonOp = (key: string, query: string, variables: Record<string, unknown>) => post(key, JSON.stringify({ query, variables }), { 'content-type': 'application/json' });
function uploadOp(key: string, query: string, bytes: Uint8Array, variable: string, name = 'photo.jpg') {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { [variable]: null } }));
  form.append('map', JSON.stringify({ 0: [`variables.${variable}`] }));
  form.append('0', new Blob([bytes]), name);
  return post(key, form, { 'apollo-require-preflight': 'true' });
}

// ---- each tenant's knowledge base: its half of the demo, plus one manual both hold ----
const owned = new Map<string, TenantName>(); // document/photo id → tenant
const files = new Map<TenantName, string[]>(TENANTS.map((t) => [t, []])); // file URLs (path only) per tenant
const docsOf = new Map<TenantName, string[]>(TENANTS.map((t) => [t, []]));
const docNames = readdirSync(path.join('demo', 'docs')).sort();
const shared = docNames.find((n) => n.startsWith('p200'))!;
for (const [i, name] of docNames.entries()) {
  const tenants = name === shared ? TENANTS : [TENANTS[i % 2]!];
  for (const tenant of tenants) {
    const r = await uploadOp(keyOf(tenant, 'admin'), 'mutation($file: Upload!) { ingestDocument(file: $file) { id url } }', readFileSync(path.join('demo', 'docs', name)), 'file', name);
    const doc = r.data?.ingestDocument as { id: string; url: string } | undefined;
    if (!doc) throw new Error(`setup: ingesting ${name} for ${tenant} failed: ${r.status} ${r.code}`);
    owned.set(doc.id, tenant);
    docsOf.get(tenant)!.push(doc.id);
    files.get(tenant)!.push(doc.url.split('?')[0]!);
  }
}
for (const [i, bytes] of photos.entries()) {
  const tenant = TENANTS[i % 2]!;
  const r = await uploadOp(keyOf(tenant, 'admin'), 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', bytes, 'file');
  const id = (r.data?.ingestPhoto as { id: string } | undefined)?.id;
  if (!id) throw new Error(`setup: ingesting ${photoFiles[i]} for ${tenant} failed: ${r.status} ${r.code}`);
  owned.set(id, tenant);
}

// ---- checking every id a tenant gets back ----
let crossTenant = 0;
const unknownIds: [TenantName, string][] = []; // e.g. a photo uploaded concurrently: checked at the end
function checkIds(tenant: TenantName, value: unknown): void {
  if (Array.isArray(value)) return value.forEach((v) => checkIds(tenant, v));
  if (!value || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'id' && typeof v === 'string') {
      const owner = owned.get(v);
      if (owner === undefined) unknownIds.push([tenant, v]);
      else if (owner !== tenant) crossTenant++;
    } else checkIds(tenant, v);
  }
}
const other = (t: TenantName) => (t === 'acme' ? 'globex' : 'acme');
const anyOf = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
// Half the texts are new (a serial number appended), so the encoder works instead of the cache.
let serial = 0;
const question = () => (Math.random() < 0.5 ? anyOf(questions) : `${anyOf(questions)} #${++serial}`);

// ---- long-lived WebSocket connections, one per tenant and role ----
const sockets = new Map<string, Client>();
function socketOf(tenant: TenantName, role: (typeof ROLES)[number]): Client {
  const id = `${tenant}-${role}`;
  let client = sockets.get(id);
  if (!client) {
    client = createClient({ url: `${urls[sockets.size % urls.length]!.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazyCloseTimeout: 60_000, retryAttempts: 0, connectionParams: { authorization: `Bearer ${keyOf(tenant, role)}` } });
    sockets.set(id, client);
  }
  return client;
}
/** One operation over the socket: the last result's data (a subscription's final event), or the error code. */
function wsOp(tenant: TenantName, role: (typeof ROLES)[number], query: string, variables: Record<string, unknown>): Promise<Reply> {
  return new Promise((resolve) => {
    let last: Reply = { status: 200, code: null, data: null };
    socketOf(tenant, role).subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (r) => {
          last = { status: 200, code: (r.errors?.[0]?.extensions?.code as string | undefined) ?? last.code, data: r.data ?? last.data };
        },
        error: (e: unknown) => {
          const code = Array.isArray(e) ? ((e[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code ?? 'ERROR') : `CLOSED ${(e as { code?: number }).code ?? ''}`;
          resolve({ status: 200, code, data: null });
        },
        complete: () => resolve(last),
      },
    );
  });
}
let wsBypass = 0;

type Op = [string, number, (tenant: TenantName) => Promise<Reply>];
const ops: Op[] = [
  ['search text', 40, async (t) => jsonOp(keyOf(t, 'technician'), 'query($t: String) { search(text: $t) { noGoodMatch hits { document { id } photo { id } page { number } } } }', { t: question() })],
  ['search photo', 15, async (t) => uploadOp(keyOf(t, 'technician'), 'query($image: Upload) { search(image: $image) { hits { photo { id } document { id } } } }', anyOf(photos), 'image')],
  ['ask', 22, async (t) => jsonOp(keyOf(t, 'agent'), 'query($q: String) { ask(question: $q) { text mode citations { marker document { id } photo { id } } } }', { q: question() })],
  ['upload photo', 10, async (t) => {
    const r = await uploadOp(keyOf(t, 'admin'), 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', await sharp(photos[0]!).modulate({ brightness: 1 + (++uploadCounter % 50) / 100 }).jpeg().toBuffer(), 'file');
    const id = (r.data?.ingestPhoto as { id: string } | undefined)?.id;
    if (id) owned.set(id, t);
    return { ...r, data: null };
  }],
  ['guess other tenant doc id', 5, async (t) => {
    const r = await jsonOp(keyOf(t, 'admin'), 'query($id: ID!) { document(id: $id) { id title } }', { id: anyOf(docsOf.get(other(t))!) });
    if (r.data?.document !== null) crossTenant++;
    return { ...r, data: null };
  }],
  ['fetch other tenant file', 3, async (t) => {
    const res = await fetch(`${nextUrl()}${anyOf(files.get(other(t))!)}`, { headers: { authorization: `Bearer ${keyOf(t, 'technician')}` } });
    await res.arrayBuffer();
    // The shared manual's bytes exist in both tenants' files: 200 there is the caller's own copy.
    const sharedFile = files.get(t)!.includes(new URL(res.url).pathname);
    if (res.status === 200 && !sharedFile) crossTenant++;
    return { status: res.status, code: res.status === 404 ? 'NOT_FOUND' : null, data: null };
  }],
  ['forbidden (tech ingests)', 5, async (t) => uploadOp(keyOf(t, 'technician'), 'mutation($file: Upload!) { ingestPhoto(file: $file) { id } }', photos[0]!, 'file')],
  ['ws search text', 15, async (t) => wsOp(t, 'technician', 'query($t: String) { search(text: $t) { noGoodMatch hits { document { id } photo { id } page { number } } } }', { t: question() })],
  ['ws askStream', 8, async (t) => wsOp(t, 'agent', 'subscription($q: String!) { askStream(question: $q) { __typename ... on Answer { mode citations { marker document { id } photo { id } } } } }', { q: question() })],
  ['ws forbidden (tech auditLog)', 3, async (t) => {
    const r = await wsOp(t, 'technician', '{ auditLog(first: 5) { nodes { seq keyName } } }', {});
    if (r.code !== 'FORBIDDEN') wsBypass++;
    return { ...r, data: null };
  }],
  ['ws forbidden (tech deletes)', 2, async (t) => {
    const r = await wsOp(t, 'technician', 'mutation($id: ID!) { deleteDocument(id: $id) }', { id: anyOf(docsOf.get(t)!) });
    if (r.code !== 'FORBIDDEN') wsBypass++;
    return { ...r, data: null };
  }],
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
  Array.from({ length: CONCURRENCY }, async (_, worker) => {
    while (Date.now() < end) {
      const tenant = TENANTS[(worker + done) % 2]!;
      const [name, , run] = pick();
      const t = performance.now();
      const r = await run(tenant).catch((): Reply => ({ status: 0, code: 'NETWORK', data: null }));
      const ms = performance.now() - t;
      done++;
      (latencies.get(name) ?? latencies.set(name, []).get(name)!).push(ms);
      if (r.status >= 500) fivexx++;
      if (r.code) errors.set(`${name}: ${r.code}`, (errors.get(`${name}: ${r.code}`) ?? 0) + 1);
      checkIds(tenant, r.data);
    }
  }),
);
await Promise.all([...sockets.values()].map((c) => c.dispose()));
const peakKb = children.map((child) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 'NaN'));
for (const child of children) child.kill('SIGTERM');
await Promise.all(children.map((child) => new Promise((r) => child.once('exit', r))));
await stack.close();
rmSync(dir, { recursive: true, force: true });
// Ids first seen before their upload's reply arrived: every one must be the caller's own by now.
let unattributed = 0;
for (const [tenant, id] of unknownIds) {
  const owner = owned.get(id);
  if (owner === undefined) unattributed++;
  else if (owner !== tenant) crossTenant++;
}

console.log(`load: ${SECONDS} s, ${CONCURRENCY} concurrent clients, 2 tenants × 3 keys (technician, agent, admin), model ${MODEL}, ${os.cpus().length} CPUs, ${REPLICAS} replica${REPLICAS === 1 ? '' : 's'} (${STACK} stack${STACK === 'scale' ? ': Qdrant double, Postgres, s3rver' : ''})`);
console.log(`throughput: ${(done / SECONDS).toFixed(1)} requests/s (${done} requests)`);
for (const [name, values] of latencies) console.log(`  ${name.padEnd(30)} n=${String(values.length).padStart(5)}  p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms  p95 ${percentile(values, 95).toFixed(1).padStart(7)} ms`);
console.log(`errors by code: ${errors.size === 0 ? 'none' : [...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
console.log(`5xx responses: ${fivexx}`);
console.log(`server peak memory (VmHWM): ${peakKb.map((kb) => `${(kb / 1024).toFixed(0)} MB`).join(', ')}`);
console.log(`cross-tenant results: ${crossTenant} (ids checked in every hit, citation and guessed id; ${unattributed} ids of no known record)`);
console.log(`WebSocket operations not refused that the role may not call: ${wsBypass} (${sockets.size} sockets kept open)`);
if (fivexx > 0 || crossTenant > 0 || unattributed > 0 || wsBypass > 0) process.exitCode = 1;
