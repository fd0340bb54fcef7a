/**
 * TRUST_PROXY's syntax and rules (src/server/trusted-proxy.ts): what parses, what is refused with
 * which message, and which address is the client for a given peer and X-Forwarded-For.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { clientAddressOf, compileTrust, parseTrustProxy } from '../../src/server/trusted-proxy.js';

/** The two fields proxy-addr reads from a request. */
const request = (peer: string, forwardedFor?: string) => ({ socket: { remoteAddress: peer }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} }) as unknown as IncomingMessage;
const clientOf = (setting: string | undefined, peer: string, forwardedFor?: string) => clientAddressOf(request(peer, forwardedFor), compileTrust(parseTrustProxy(setting)));

describe('parseTrustProxy', () => {
  it('trusts nothing when unset, empty, false or 0', () => {
    for (const value of [undefined, '', '  ', 'false', 'FALSE', '0']) expect(parseTrustProxy(value), String(value)).toEqual({ kind: 'none' });
  });

  it('reads hop counts and lists of addresses, ranges and named ranges', () => {
    expect(parseTrustProxy('2')).toEqual({ kind: 'hops', hops: 2 });
    expect(parseTrustProxy(' 172.28.0.10 , 10.0.0.0/8,loopback,fd00::/8 ')).toEqual({ kind: 'addresses', addresses: ['172.28.0.10', '10.0.0.0/8', 'loopback', 'fd00::/8'] });
  });

  it('refuses true, bad addresses, empty entries and absurd hop counts with a message saying why', () => {
    expect(() => parseTrustProxy('true')).toThrow(/any client/);
    expect(() => parseTrustProxy('nginx')).toThrow(/"nginx" is not an IP address/);
    expect(() => parseTrustProxy('10.0.0.0/40')).toThrow(/"10.0.0.0\/40"/);
    expect(() => parseTrustProxy('10.0.0.1,')).toThrow(/empty entry/);
    expect(() => parseTrustProxy('11')).toThrow(/hop count must be 0 to 10/);
  });

  it('makes loadConfig fail with the setting named, among the other problems', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: 'everyone', PORT: 'x' })).toThrow(/TRUST_PROXY: "everyone" is not an IP address[\s\S]*PORT|PORT[\s\S]*TRUST_PROXY: "everyone"/);
    expect(loadConfig({}).http.trustProxy).toEqual({ kind: 'none' });
    expect(loadConfig({ TRUST_PROXY: '172.28.0.10' }).http.trustProxy).toEqual({ kind: 'addresses', addresses: ['172.28.0.10'] });
  });
});

describe('the client address of a request', () => {
  it('is the peer when nothing is trusted, whatever X-Forwarded-For says', () => {
    expect(clientOf(undefined, '203.0.113.5', '198.51.100.1')).toBe('203.0.113.5');
  });

  it('is the entry the trusted proxy appended, never one the client prepended', () => {
    expect(clientOf('172.28.0.10', '172.28.0.10', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientOf('172.28.0.10', '172.28.0.10', '10.9.9.9, 198.51.100.1')).toBe('198.51.100.1');
    // A request that does not come from the proxy keeps its own address.
    expect(clientOf('172.28.0.10', '203.0.113.5', '198.51.100.1')).toBe('203.0.113.5');
    expect(clientOf('172.16.0.0/12', '172.28.0.10', '198.51.100.1')).toBe('198.51.100.1');
    expect(clientOf('loopback', '::ffff:127.0.0.1', '198.51.100.1')).toBe('198.51.100.1');
  });

  it('walks back a hop count of proxies', () => {
    expect(clientOf('1', '10.0.0.1', '198.51.100.1, 10.0.0.2')).toBe('10.0.0.2');
    expect(clientOf('2', '10.0.0.1', '198.51.100.1, 10.0.0.2')).toBe('198.51.100.1');
  });

  it('never takes a forwarded entry that is not an IP address: it falls back to the nearest trusted hop', () => {
    // A trusted proxy forwarding garbage (its client sent it, or the proxy is misconfigured): the proxy is the client.
    for (const garbage of ['<script>', 'foo', '1.2.3.4:5678', '[::1]', 'unknown', '1.2.3.4 bar'])
      expect(clientOf('127.0.0.1', '127.0.0.1', garbage), garbage).toBe('127.0.0.1');
    // Garbage nearer than a valid address stops the walk there: what lies beyond it was never vouched for.
    expect(clientOf('127.0.0.1', '127.0.0.1', '1.2.3.4, bar')).toBe('127.0.0.1');
    expect(clientOf('loopback', '127.0.0.1', '198.51.100.1, <script>')).toBe('127.0.0.1');
    // Garbage beyond the first untrusted address is never reached.
    expect(clientOf('127.0.0.1', '127.0.0.1', 'bar, 198.51.100.1')).toBe('198.51.100.1');
    // Hop counts trust any address, so a garbage hop is where they stop too: the last valid hop is the client.
    expect(clientOf('1', '10.0.0.1', '<script>')).toBe('10.0.0.1');
    expect(clientOf('2', '10.0.0.1', 'bar, 10.0.0.2')).toBe('10.0.0.2');
    expect(clientOf('2', '10.0.0.1', '198.51.100.1, foo')).toBe('10.0.0.1');
    // IPv6 forwarded clients are addresses like any other.
    expect(clientOf('127.0.0.1', '127.0.0.1', '2001:db8::1')).toBe('2001:db8::1');
  });
});
