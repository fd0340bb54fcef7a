/**
 * What the HTTP bench and its probes share to drive a server from outside and to say where its
 * CPU went: a GraphQL POST over a kept-alive node:http connection (fetch's undici costs ~1 ms of
 * client CPU per call, more than the server's own `health`), and each thread's CPU and run-queue
 * wait from /proc (the one latency proxy that holds on a machine shared with other jobs).
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';

/** POST a GraphQL operation as JSON through `agent`; resolves to `data`, rejects on GraphQL errors or a non-GraphQL answer. */
export function postGraphql(url: string, agent: http.Agent, query: string, variables: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const payload = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/graphql`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: Record<string, unknown>; errors?: { message: string }[] };
          if (body.errors?.length) reject(new Error(`GraphQL error: ${body.errors[0]!.message}`));
          else resolve(body.data!);
        } catch (error) {
          reject(new Error(`HTTP ${res.statusCode}: not a GraphQL response (${String(error)})`));
        }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export interface ThreadStat {
  /** The thread's name (`comm`); the process's main thread is "main". */
  name: string;
  /** CPU time so far, ns. */
  cpuNs: number;
  /** Time spent runnable, waiting for a core, ns. */
  waitNs: number;
}

/** Per-thread CPU and run-queue wait of a process, by thread id (threads that end meanwhile are left out). */
export function threadStats(pid: number): Map<number, ThreadStat> {
  const out = new Map<number, ThreadStat>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = Number(tid) === pid ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      out.set(Number(tid), { name, cpuNs: cpu!, waitNs: wait! });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
