/**
 * Which peer may tell us the client's address (TRUST_PROXY). Behind a load balancer every request
 * arrives from the proxy, so without this every client without an API key would share the proxy's
 * rate-limit bucket; trusting X-Forwarded-For from anyone, on the other hand, lets a client pick its
 * own bucket (and audit entries name the proxy, or a forged address). So: trust nothing by default, and read X-Forwarded-For only when the request comes
 * from a peer the operator named.
 *
 * The rules are Express's own `trust proxy` (the `proxy-addr` package Express uses): the address
 * list is walked from the socket's peer back through X-Forwarded-For, and the client is the first
 * address that is not trusted. Both transports go through `clientAddressOf` with the same compiled
 * function (HTTP's `req.ip` by `clientAddressMiddleware`; the WebSocket upgrade request, which Express
 * never sees, directly), so they agree on who a client is.
 *
 * Accepted values (parsed once, at start-up; anything else stops the server with a clear message):
 * - unset, empty, `false` or `0`: trust nothing; the client is the socket's peer (the default);
 * - a hop count `N` (1–10): trust the N nearest hops whatever their addresses (Express's number);
 * - a comma-separated list of addresses, CIDR ranges (`172.28.0.0/16`) and the names `loopback`,
 *   `linklocal`, `uniquelocal` (proxy-addr's): trust exactly those peers.
 * `true` (Express's "trust everyone") is refused: it would let any client forge its address.
 *
 * One rule proxy-addr lacks: a forwarded entry that is not an IP address (`<script>`, `foo`,
 * `1.2.3.4:80`) is never the client. proxy-addr returns the first untrusted entry whatever it is, so
 * a trusted proxy passing on a client's garbage would put that text in the audit log and give it a
 * rate-limit bucket of its own. Here the walk stops at the first entry `net.isIP` refuses and the
 * client is the hop before it: the nearest trusted, valid address (at worst the socket's peer).
 * HTTP gets the same answer through `clientAddressMiddleware`, which replaces Express's `req.ip`.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import proxyaddr from 'proxy-addr';

/** The parsed setting: kept as data in the configuration, compiled where requests are served. */
export type TrustProxySetting = { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'addresses'; addresses: string[] };

/** A trust function in proxy-addr's and Express's shape: may `address`, `hop` steps from us, be believed? */
export type TrustFunction = (address: string, hop: number) => boolean;

const MAX_HOPS = 10;
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/** Parses TRUST_PROXY; throws an Error whose message says what is wrong and what is accepted. */
export function parseTrustProxy(raw: string | undefined): TrustProxySetting {
  const value = (raw ?? '').trim();
  if (value === '' || value.toLowerCase() === 'false') return { kind: 'none' };
  if (value.toLowerCase() === 'true') {
    throw new Error('"true" would believe X-Forwarded-For from any client, which lets it choose its own rate-limit bucket; list the proxy addresses (e.g. 172.28.0.10 or 10.0.0.0/8) or give a hop count');
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops === 0) return { kind: 'none' };
    if (hops > MAX_HOPS) throw new Error(`a hop count must be 0 to ${MAX_HOPS}, got ${value}`);
    return { kind: 'hops', hops };
  }
  const addresses = value.split(',').map((a) => a.trim());
  if (addresses.some((a) => a === '')) throw new Error(`"${value}" has an empty entry; give a comma-separated list of addresses, CIDR ranges or ${NAMED_RANGES.join('/')}`);
  for (const address of addresses) {
    try {
      proxyaddr.compile(address);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`"${address}" is not an IP address, a CIDR range or one of ${NAMED_RANGES.join(', ')} (${reason}); expected e.g. "172.28.0.10", "10.0.0.0/8", "loopback" or a hop count`);
    }
  }
  return { kind: 'addresses', addresses };
}

/** The trust function for a parsed setting (what `app.set('trust proxy', …)` takes). */
export function compileTrust(setting: TrustProxySetting): TrustFunction {
  switch (setting.kind) {
    case 'none':
      return () => false;
    case 'hops':
      return (_address, hop) => hop < setting.hops;
    case 'addresses':
      return proxyaddr.compile(setting.addresses);
  }
}

/**
 * The client's address of a request by TRUST_PROXY's rule: walk from the socket's peer back through
 * X-Forwarded-For while the hop is trusted; the client is the first untrusted address, or the last
 * one if all are trusted. An entry that is not an IP address ends the walk at the hop before it.
 */
export function clientAddressOf(request: IncomingMessage, trust: TrustFunction): string | undefined {
  if (!request.socket.remoteAddress) return undefined;
  // Without a trust function proxy-addr lists every address: [peer, nearest forwarded, …, farthest].
  const chain = proxyaddr.all(request);
  for (let hop = 0; hop < chain.length; hop++) {
    const address = chain[hop]!;
    if (isIP(address) === 0) return hop === 0 ? undefined : chain[hop - 1];
    if (hop === chain.length - 1 || !trust(address, hop)) return address;
  }
  return undefined;
}

/**
 * Express middleware setting `req.ip` by `clientAddressOf`, so the rate limit, the request log and
 * the audit see the same client as the WebSocket transport. Mount it first. (`app.set('trust proxy')`
 * stays for what else Express derives from forwarded headers.)
 */
export function clientAddressMiddleware(trust: TrustFunction): RequestHandler {
  return (req, _res, next) => {
    Object.defineProperty(req, 'ip', { value: clientAddressOf(req, trust), configurable: true, enumerable: true });
    next();
  };
}
