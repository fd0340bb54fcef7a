/**
 * File URLs that work in an <img> tag without an Authorization header: when the server has API
 * keys, resolvers hand out /files/<key>?tenant=<t>&exp=<unix s>&sig=<HMAC-SHA256(tenant, key, exp)>,
 * valid for a limited time and only for the tenant the URL was made for. The secret comes from FILE_URL_SECRET (shared by replicas) or is made at start-up.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export class FileUrlSigner {
  private readonly secret: Buffer;

  constructor(
    secret: string | undefined,
    private readonly ttlSeconds: number,
  ) {
    this.secret = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  private signature(tenant: string, key: string, exp: number): string {
    return createHmac('sha256', this.secret).update(`${tenant}\n${key}\n${exp}`).digest('base64url');
  }

  url(tenant: string, key: string, now = Date.now()): string {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    return `/files/${key}?tenant=${encodeURIComponent(tenant)}&exp=${exp}&sig=${this.signature(tenant, key, exp)}`;
  }

  verify(tenant: string, key: string, exp: unknown, sig: unknown, now = Date.now()): boolean {
    if (typeof exp !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(exp)) return false;
    const expires = Number(exp);
    if (expires * 1000 < now) return false;
    const expected = Buffer.from(this.signature(tenant, key, expires));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
