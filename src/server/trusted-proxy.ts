/**
 * Which peer may tell us the client's address (TRUST_PROXY). Behind a load balancer every request
 * arrives from the proxy, so without this every client without an API key would share the proxy's
 * rate-limit bucket; trusting X-Forwarded-For from anyone, on the other hand, lets a client pick its
 * own bucket (and audit entries name the proxy, or a forged address). So: trust nothing by default, and read X-Forwarded-For only when the request comes
 * from a peer the operator named.
 *
 * The rules are Express's own `trust proxy` (the `proxy-addr` package Express uses): the address
 * list is walked from the socket's peer back through X-Forwarded-For, and the client is the first
 * address that is not trusted. HTTP uses it through `app.set('trust proxy', …)` (`req.ip`); the
 * WebSocket upgrade request, which Express never sees, goes through `clientAddressOf` with the same
 * compiled function, so both transports agree on who a client is.
 *
 * Accepted values (parsed once, at start-up; anything else stops the server with a clear message):
 * - unset, empty, `false` or `0`: trust nothing; the client is the socket's peer (the default);
 * - a hop count `N` (1–10): trust the N nearest hops whatever their addresses (Express's number);
 * - a comma-separated list of addresses, CIDR ranges (`172.28.0.0/16`) and the names `loopback`,
 *   `linklocal`, `uniquelocal` (proxy-addr's): trust exactly those peers.
 * `true` (Express's "trust everyone") is refused: it would let any client forge its address.
 */
import type { IncomingMessage } from 'node:http';
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

/** The client's address of a raw Node request (the WebSocket upgrade), by the same rules Express applies to `req.ip`. */
export function clientAddressOf(request: IncomingMessage, trust: TrustFunction): string | undefined {
  if (!request.socket.remoteAddress) return undefined;
  return proxyaddr(request, trust);
}
