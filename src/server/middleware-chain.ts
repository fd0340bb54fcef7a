/**
 * Several express middlewares run as one: `app.use('/graphql', chain(a, b, c))` behaves like
 * `app.use('/graphql', a, b, c)`, but express's router walks one layer instead of one per
 * middleware. Every GraphQL request crosses this chain (auth, refusal audit, rate limit, body
 * parsers, token limit, deadline, tenant, Apollo), and each router layer costs a path match and a
 * URL trim and restore: measured as several percent of the main thread's CPU per request
 * (bench/README.md, issue 14, "textpath").
 *
 * Same contract as express 5's router for what these middlewares use: `next()` runs the next one,
 * `next(err)` skips the rest and hands the error to the app's error handlers, and a middleware
 * that throws or returns a rejected promise is treated as `next(err)`.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function chain(...handlers: RequestHandler[]): RequestHandler {
  if (handlers.length === 0) throw new Error('chain: no middleware given');
  return (req: Request, res: Response, done: NextFunction) => {
    let index = 0;
    const next = (err?: unknown): void => {
      // 'route' only means "skip the rest of this route" to express: in a middleware chain it continues.
      if (err !== undefined && err !== null && err !== 'route') return done(err);
      const handler = handlers[index++];
      if (!handler) return done();
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise) result.then(undefined, (error: unknown) => next(error ?? new Error('Rejected promise')));
      } catch (error) {
        next(error);
      }
    };
    next();
  };
}
