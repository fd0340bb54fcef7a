/**
 * A graphql-ws client for tests: one socket per client, operations as promises, and the close
 * code the server sends (graphql-ws reports a close as a CloseEvent-like object).
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface WsResult {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
  /** Set when the socket closed instead of answering. */
  closed?: { code: number; reason: string };
  code?: string;
}

export interface WsTestClient {
  client: Client;
  /** Sockets this client has opened (1 while it kept one socket). */
  connections(): number;
  /** Runs one operation; resolves with its results (all of them for a subscription) or the close. */
  run(query: string, variables?: Record<string, unknown>): Promise<WsResult & { results: WsResult[] }>;
  dispose(): Promise<void>;
}

/** `headers` go on the upgrade request (e.g. the X-Forwarded-For a proxy would add). */
export function wsClient(httpUrl: string, key: string | null, headers?: Record<string, string>): WsTestClient {
  let connections = 0;
  const client = createClient({
    url: `${httpUrl.replace('http', 'ws')}/graphql`,
    webSocketImpl: headers
      ? class extends WebSocket {
          constructor(address: string | URL, protocols?: string | string[]) {
            super(address, protocols, { headers });
          }
        }
      : WebSocket,
    retryAttempts: 0,
    lazy: true,
    // Keep the one socket open between operations, as a long-lived client (the attack) does.
    lazyCloseTimeout: 600_000,
    on: { connected: () => void connections++ },
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
  });
  return {
    client,
    connections: () => connections,
    run: (query, variables = {}) =>
      new Promise((resolve) => {
        const results: WsResult[] = [];
        const finish = (extra: WsResult) => {
          const last = results.at(-1) ?? {};
          const merged = { ...last, ...extra };
          resolve({ ...merged, code: merged.errors?.[0]?.extensions?.code ?? (merged.closed ? `closed ${merged.closed.code}` : undefined), results });
        };
        client.subscribe(
          { query, variables },
          {
            next: (r) => void results.push(r as WsResult),
            error: (e: unknown) => {
              if (Array.isArray(e)) return finish({ errors: e as WsResult['errors'] });
              if (typeof e === 'object' && e !== null && 'code' in e) {
                const { code, reason } = e as { code: number; reason?: string };
                return finish({ closed: { code, reason: String(reason ?? '') } });
              }
              finish({ errors: [{ message: e instanceof Error ? e.message : String(e) }] });
            },
            complete: () => finish({}),
          },
        );
      }),
    dispose: () => Promise.resolve(client.dispose()),
  };
}
