/**
 * `chain` (src/server/middleware-chain.ts) runs several middlewares as one router layer. It must
 * behave as express's router does with the same middlewares mounted one by one: in order, `next()`
 * to go on, and a `next(err)`, a throw or a rejected promise skipping the rest to the app's error
 * handler. Checked on a real express app over HTTP, each case side by side with the plain mount.
 */
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain } from '../../src/server/middleware-chain.js';

const step =
  (name: string): RequestHandler =>
  (_req, res, next) => {
    (res.locals.steps as string[]).push(name);
    next();
  };
const answer: RequestHandler = (req, res) => {
  res.json({ steps: res.locals.steps, url: req.url, baseUrl: req.baseUrl });
};
const handlers: Record<string, RequestHandler> = {
  ok: step('ok'),
  nextError: (_req, _res, next) => next(new Error('passed to next')),
  throws: () => {
    throw new Error('thrown');
  },
  rejects: async () => {
    await Promise.resolve();
    throw new Error('rejected');
  },
  later: (_req, res, next) => {
    setTimeout(() => {
      (res.locals.steps as string[]).push('later');
      next();
    }, 5);
  },
  route: (_req, _res, next) => next('route'),
};

let url = '';
let close: () => Promise<void>;
beforeAll(async () => {
  const app = express();
  app.use((_req, res, next) => {
    res.locals.steps = [];
    next();
  });
  for (const [name, h] of Object.entries(handlers)) {
    app.use(`/plain/${name}`, step('first'), h, step('after'), answer);
    app.use(`/chained/${name}`, chain(step('first'), h, step('after'), answer));
  }
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    res.status(500).json({ error: err instanceof Error ? err.message : String(err), steps: res.locals.steps });
  };
  app.use(onError);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await close?.();
});

describe('chain', () => {
  it.each(Object.keys(handlers))('%s: the same status and body as the middlewares mounted one by one', async (name) => {
    const plain = await fetch(`${url}/plain/${name}/x?q=1`);
    const chained = await fetch(`${url}/chained/${name}/x?q=1`);
    expect(chained.status).toBe(plain.status);
    const mountless = (body: Record<string, unknown>, mount: string) => {
      if ('baseUrl' in body) expect(body.baseUrl).toBe(`${mount}/${name}`);
      return { ...body, baseUrl: undefined };
    };
    expect(mountless((await chained.json()) as Record<string, unknown>, '/chained')).toEqual(mountless((await plain.json()) as Record<string, unknown>, '/plain'));
  });

  it('runs in order, sees the mount-relative URL, and stops at the first error', async () => {
    expect(await (await fetch(`${url}/chained/later/x?q=1`)).json()).toEqual({ steps: ['first', 'later', 'after'], url: '/x?q=1', baseUrl: '/chained/later' });
    expect(await (await fetch(`${url}/chained/throws`)).json()).toEqual({ error: 'thrown', steps: ['first'] });
    expect(await (await fetch(`${url}/chained/rejects`)).json()).toEqual({ error: 'rejected', steps: ['first'] });
    expect(await (await fetch(`${url}/chained/nextError`)).json()).toEqual({ error: 'passed to next', steps: ['first'] });
  });

  it('refuses an empty chain', () => {
    expect(() => chain()).toThrow(/no middleware/);
  });
});
