/**
 * WebSub content-distribution signatures: `X-Hub-Signature-256: sha256=<hex>` or
 * `X-Hub-Signature: <method>=<hex>` (sha1, sha256, sha384, sha512), an HMAC of the raw body with
 * the subscription's secret. Compared in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const METHODS = new Set(['sha1', 'sha256', 'sha384', 'sha512']);

export type SignatureCheck = 'valid' | 'missing' | 'invalid';

export function checkSignature(
  headers: { sha256: string | undefined; legacy: string | undefined },
  body: Buffer,
  secret: string,
): SignatureCheck {
  const header = headers.sha256 !== undefined ? `${headers.sha256}` : headers.legacy;
  if (header === undefined || header.trim() === '') return 'missing';
  const m = /^\s*(sha1|sha256|sha384|sha512)=([0-9a-fA-F]+)\s*$/.exec(header);
  if (!m) return 'invalid';
  const method = m[1]!;
  // X-Hub-Signature-256 is sha256 by definition, whatever prefix it carries.
  if (headers.sha256 !== undefined && method !== 'sha256') return 'invalid';
  if (!METHODS.has(method)) return 'invalid';
  const expected = createHmac(method, secret).update(body).digest();
  const given = Buffer.from(m[2]!, 'hex');
  if (given.length !== expected.length) return 'invalid';
  return timingSafeEqual(given, expected) ? 'valid' : 'invalid';
}

/** The header value a hub sends (tests, bench). */
export function signBody(body: Buffer | string, secret: string, method: 'sha1' | 'sha256' = 'sha256'): string {
  return `${method}=${createHmac(method, secret).update(body).digest('hex')}`;
}

/** The callback token compared in constant time (hashed first, so lengths never differ). */
export function sameToken(expected: string, given: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(expected), digest(given));
}
