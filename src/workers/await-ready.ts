/**
 * The start-up handshake shared by the project's worker threads (ONNX sessions, PDF extraction,
 * code decoding): wait for the worker's "ready" message, and fail with a readable reason when it
 * reports a load failure, errors, exits or stays silent first.
 *
 * Only this handshake's own listeners are removed afterwards: `worker.removeAllListeners()` would
 * also drop the ones Node's Worker uses to run its message port, and replies would never arrive.
 */
import type { Worker } from 'node:worker_threads';

export type HandshakeMessage = { kind: string; message?: string };

/**
 * Resolves with the worker's first message once it is `{ kind: 'ready' }`. Any other first message
 * rejects (with its `message` for `load-failed`); so does an error, an exit or `timeoutMs` passing.
 * `what` names the worker in those reasons ("the PDF extraction worker").
 */
export function awaitReady<M extends HandshakeMessage>(worker: Worker, what: string, timeoutMs?: number): Promise<Extract<M, { kind: 'ready' }>> {
  return new Promise((resolve, reject) => {
    const timer = timeoutMs === undefined ? null : setTimeout(() => settle(new Error(`${what} did not start within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (msg: M) => {
      if (msg.kind === 'ready') settle(null, msg as Extract<M, { kind: 'ready' }>);
      else settle(new Error(msg.kind === 'load-failed' ? (msg.message ?? 'load failed') : `${what} sent an unexpected ${msg.kind} message while starting`));
    };
    const onError = (error: Error) => settle(error);
    const onExit = (code: number) => settle(new Error(`${what} exited with code ${code} while starting`));
    function settle(error: Error | null, ready?: Extract<M, { kind: 'ready' }>): void {
      if (timer) clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (error) reject(error);
      else resolve(ready!);
    }
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
