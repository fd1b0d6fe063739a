/**
 * Maps whatever undici, node:net, TLS or zlib threw into one of our error kinds and a sentence a
 * user can act on. undici wraps the real cause (`TypeError: fetch failed` → cause → …), and
 * Happy Eyeballs connects can wrap several in an AggregateError, so the whole chain is searched.
 */
import type { FetchErrorKind } from './types.ts';

export interface ClassifiedError {
  errorKind: FetchErrorKind;
  message: string;
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error and everything it wraps, outermost first (bounded: causes can be cyclic). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || out.includes(e as ErrorLike)) continue;
    const el = e as ErrorLike;
    out.push(el);
    if (el.cause !== undefined) queue.push(el.cause);
    if (Array.isArray(el.errors)) queue.push(...(el.errors as unknown[]));
  }
  return out;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export function classifyFetchError(err: unknown, limits: { headersTimeoutMs: number; maxBytes: number }): ClassifiedError {
  const errors = chain(err);
  const find = (pred: (e: ErrorLike) => boolean) => errors.find(pred);
  const byCode = (...codes: string[]) => find((e) => codes.includes(text(e.code)));

  const blocked = find((e) => e.code === 'ERR_ADDRESS_BLOCKED');
  if (blocked) return { errorKind: 'blocked', message: `refused: ${text(blocked.message)}` };

  if (byCode('UND_ERR_HEADERS_TIMEOUT')) {
    return { errorKind: 'timeout', message: `no response headers within ${limits.headersTimeoutMs} ms (headers timeout)` };
  }
  if (byCode('UND_ERR_BODY_TIMEOUT')) {
    return { errorKind: 'timeout', message: `the server stopped sending the body for ${limits.headersTimeoutMs} ms (body timeout)` };
  }
  if (byCode('UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT')) {
    return { errorKind: 'timeout', message: 'could not connect to the server in time (connect timeout)' };
  }
  if (byCode('UND_ERR_RES_EXCEEDED_MAX_SIZE')) {
    return { errorKind: 'too-large', message: `response larger than the ${limits.maxBytes} byte limit` };
  }

  const dnsErr = byCode('ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME');
  if (dnsErr) {
    const temporary = dnsErr.code === 'EAI_AGAIN' ? ' (temporary DNS failure)' : '';
    return { errorKind: 'network', message: `could not resolve the host name${temporary}: ${text(dnsErr.message)}` };
  }
  if (byCode('ECONNREFUSED')) return { errorKind: 'network', message: 'connection refused by the server' };
  if (byCode('ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET')) {
    return { errorKind: 'network', message: 'the server closed the connection unexpectedly' };
  }
  if (byCode('EHOSTUNREACH', 'ENETUNREACH')) return { errorKind: 'network', message: 'the server is unreachable' };

  const tls = find((e) => /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(text(e.code)));
  if (tls) return { errorKind: 'network', message: `TLS error: ${text(tls.message) || text(tls.code)}` };

  // zlib: a body whose Content-Encoding lies, or a truncated compressed stream.
  const zlib = find((e) => /^Z_/.test(text(e.code)) || /incorrect header check|unexpected end of file|invalid (block|distance|code)/i.test(text(e.message)));
  if (zlib) return { errorKind: 'decode', message: `the compressed body could not be decompressed: ${text(zlib.message)}` };

  const parser = find((e) => /^HPE_/.test(text(e.code)));
  if (parser) return { errorKind: 'network', message: `invalid HTTP response: ${text(parser.message)}` };

  const innermost = errors[errors.length - 1];
  return { errorKind: 'network', message: text(innermost?.message) || String(err) };
}
