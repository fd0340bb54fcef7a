import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { awaitReady, type HandshakeMessage } from '../../src/workers/await-ready.js';

// Real worker threads from inline code: the handshake is about Node's Worker events.
const workers: Worker[] = [];
function inline(code: string): Worker {
  const worker = new Worker(`const { parentPort } = require('node:worker_threads');\n${code}`, { eval: true });
  workers.push(worker);
  return worker;
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

type Msg = HandshakeMessage & { kind: 'ready' | 'load-failed' | 'pong'; names?: string[] };

describe('awaitReady (worker start-up handshake)', () => {
  it('resolves with the ready message, and the worker still answers afterwards', async () => {
    const worker = inline(`parentPort.postMessage({ kind: 'ready', names: ['a'] }); parentPort.on('message', () => parentPort.postMessage({ kind: 'pong' }));`);
    const before = worker.listenerCount('message');
    expect(await awaitReady<Msg>(worker, 'the test worker')).toEqual({ kind: 'ready', names: ['a'] });
    // Only the handshake's own listeners are gone: replies still arrive.
    expect(worker.listenerCount('message')).toBe(before);
    const pong = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage('ping');
    expect(await pong).toEqual({ kind: 'pong' });
  });

  it("rejects with the worker's own reason when it reports a load failure", async () => {
    const worker = inline(`parentPort.postMessage({ kind: 'load-failed', message: 'model file is corrupt' });`);
    await expect(awaitReady<Msg>(worker, 'the test worker')).rejects.toThrow('model file is corrupt');
  });

  it('rejects naming the worker when it exits, throws or stays silent first', async () => {
    await expect(awaitReady<Msg>(inline('process.exit(3);'), 'the test worker')).rejects.toThrow('the test worker exited with code 3 while starting');
    await expect(awaitReady<Msg>(inline("throw new Error('boom');"), 'the test worker')).rejects.toThrow('boom');
    await expect(awaitReady<Msg>(inline('setInterval(() => {}, 1000);'), 'the test worker', 200)).rejects.toThrow('the test worker did not start within 200 ms');
  });

  it('rejects an unexpected first message', async () => {
    await expect(awaitReady<Msg>(inline(`parentPort.postMessage({ kind: 'pong' });`), 'the test worker')).rejects.toThrow('unexpected pong message');
  });
});
