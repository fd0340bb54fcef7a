/**
 * Audit entries for HTTP requests refused before Apollo runs: the rate limit (429 RATE_LIMITED),
 * a body too large (413 PAYLOAD_TOO_LARGE), a malformed body (400 BAD_REQUEST), a query over the
 * token limit (400 QUERY_TOO_COMPLEX), a tenant whose data cannot be opened (503). Apollo's audit
 * plugin never sees these, yet "every operation, allowed or refused" is the audit's promise.
 *
 * A refusal costs the attacker nothing but costs us one row, so rate-limit refusals are coalesced:
 * per caller (tenant, key, client address) and per second, the first RATE_LIMITED refusal is
 * written at once and the rest of that second are only counted; the count goes to the server log
 * when the second is over. A flood of 500 refused calls in a few seconds is a handful of rows.
 * The other refusals come after the rate limit (each one spent a token), so each is written.
 *
 * Unauthenticated requests (401) are not audited: they have no tenant to file them under (each
 * tenant's admins read only their tenant's entries), and the WebSocket transport does not audit
 * them either. The request log has them, with the client's address.
 */
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { AuditStore } from '../audit/audit-store.js';
import type { Principal } from '../auth/api-keys.js';
import { RATE_LIMITED } from './hardening.js';
import { auditOperation, newOperationTrace } from './operation-guard.js';

export interface RefusedRequest {
  principal: Principal;
  clientAddress: string | null | undefined;
  /** The error code the client saw. */
  outcome: string;
  startedAt: number;
}

export interface RefusalAuditOptions {
  /** Length of a coalescing window, in milliseconds (1 s). */
  windowMs?: number;
  /** Callers tracked at once; past it, further coalesced refusals are counted in the log only. */
  maxTracked?: number;
  now?: () => number;
}

interface Window {
  startedAt: number;
  suppressed: number;
  request: RefusedRequest;
}

/** Codes whose refusals are coalesced (the cheap-to-send ones an attacker floods with). */
const COALESCED = new Set([RATE_LIMITED]);

export class RefusalAudit {
  private readonly windows = new Map<string, Window>();
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private untracked = 0;

  constructor(
    private readonly audit: AuditStore,
    private readonly logger: Logger,
    { windowMs = 1000, maxTracked = 10_000, now = Date.now }: RefusalAuditOptions = {},
  ) {
    this.windowMs = windowMs;
    this.maxTracked = maxTracked;
    this.now = now;
  }

  /** Records one refusal: written, or counted in its caller's current window. Never throws. */
  record(request: RefusedRequest): void {
    if (!COALESCED.has(request.outcome)) return this.write(request);
    const key = JSON.stringify([request.principal.tenant, request.principal.keyName, request.clientAddress ?? null, request.outcome]);
    const at = this.now();
    const open = this.windows.get(key);
    if (open && at - open.startedAt < this.windowMs) {
      open.suppressed += 1;
      return;
    }
    if (open) this.close(key, open);
    if (this.windows.size >= this.maxTracked) this.sweep(at);
    if (this.windows.size >= this.maxTracked) {
      this.untracked += 1;
      return;
    }
    this.windows.set(key, { startedAt: at, suppressed: 0, request });
    this.write(request);
    this.schedule();
  }

  /** Closes every window (logging what each coalesced); for shutdown. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const [key, window] of this.windows) this.close(key, window);
    this.reportUntracked();
  }

  private write(r: RefusedRequest): void {
    void auditOperation(this.audit, {
      principal: r.principal,
      document: undefined,
      operation: undefined,
      operationName: null,
      variables: null,
      outcome: r.outcome,
      trace: newOperationTrace(),
      startedAt: r.startedAt,
      clientAddress: r.clientAddress,
    });
  }

  private close(key: string, window: Window): void {
    this.windows.delete(key);
    if (window.suppressed === 0) return;
    const { principal, clientAddress, outcome } = window.request;
    this.logger.warn(
      { keyName: principal.keyName, tenant: principal.tenant, client: clientAddress, code: outcome, coalesced: window.suppressed, windowMs: this.windowMs },
      'refused requests coalesced in the audit log: one entry written, the rest counted here',
    );
  }

  private sweep(at: number): void {
    for (const [key, window] of this.windows) if (at - window.startedAt >= this.windowMs) this.close(key, window);
    this.reportUntracked();
  }

  private reportUntracked(): void {
    if (this.untracked === 0) return;
    this.logger.warn({ refused: this.untracked, tracked: this.maxTracked }, 'refused requests not audited: too many callers refused at once');
    this.untracked = 0;
  }

  /** One timer while any window is open, so counts reach the log after a flood stops. */
  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sweep(this.now());
      if (this.windows.size > 0) this.schedule();
    }, this.windowMs);
    this.timer.unref();
  }
}

/** The first error code of a GraphQL-shaped error body, if it is one. */
function firstErrorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('errors' in body) || !Array.isArray(body.errors)) return undefined;
  const code: unknown = (body.errors[0] as { extensions?: { code?: unknown } } | undefined)?.extensions?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Express middleware for /graphql, after authentication: notes the error code of a refusal
 * answered before Apollo (every such answer is `res.json` with a GraphQL error body; Apollo's own
 * answers are `res.send`) and records it when the response is sent, unless Apollo took the
 * request (`markReachedApollo`), whose audit plugin writes the entry.
 */
export function auditRefusalsBeforeApollo(refusals: RefusalAudit): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    let code: string | undefined;
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      code ??= firstErrorCode(body);
      return json(body);
    };
    res.once('finish', () => {
      if (res.locals.reachedApollo === true || code === undefined || res.statusCode < 400) return;
      refusals.record({ principal: res.locals.principal as Principal, clientAddress: req.ip, outcome: code, startedAt });
    });
    next();
  };
}

/** Called from Apollo's context function: from here on Apollo's audit plugin owns the entry. */
export function markReachedApollo(locals: Record<string, unknown>): void {
  locals.reachedApollo = true;
}
