/**
 * Reads a response body through its Content-Encoding, stopping as soon as the decoded bytes pass
 * the cap, so memory never holds more than the cap plus one chunk and a gzip bomb is cut off after
 * `maxBytes` of output. Ours rather than fetch()'s: the WHATWG layer (Request, Headers, web
 * streams, a promise per chunk) was a third of the poller's CPU in a round of 304s.
 */
import type { Readable } from 'node:stream';
import { constants, createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';

/** The codings applied, in the order they were applied (`gzip, br` means gzip first); unknown ones are not decoded, as fetch() does. */
function codings(contentEncoding: string | null): string[] {
  if (!contentEncoding) return [];
  return contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

// Lenient like browsers: a truncated gzip or deflate stream still gives what it had.
const LENIENT = { flush: constants.Z_SYNC_FLUSH, finishFlush: constants.Z_SYNC_FLUSH };

function decoder(coding: string, first: number | undefined): NodeJS.ReadWriteStream | null {
  if (coding === 'gzip' || coding === 'x-gzip') return createGunzip(LENIENT);
  // "deflate" should be zlib-wrapped, but servers send raw deflate too: a zlib header starts with
  // 0x?8 where ? is the window size (0x78 in practice).
  if (coding === 'deflate') return first !== undefined && (first & 0x0f) === 0x08 ? createInflate(LENIENT) : createInflateRaw(LENIENT);
  if (coding === 'br') return createBrotliDecompress({ flush: constants.BROTLI_OPERATION_FLUSH, finishFlush: constants.BROTLI_OPERATION_FLUSH });
  return null;
}

export async function readBodyCapped(body: Readable, contentEncoding: string | null, maxBytes: number): Promise<Buffer | 'too-large'> {
  const wanted = codings(contentEncoding).reverse();
  if (wanted.length === 0 || wanted.some((c) => decoder(c, 0x78) === null)) return collect(body, maxBytes, [body]);
  // Raw bytes first, to tell zlib-wrapped deflate from raw deflate.
  const raw = await collect(body, Number.POSITIVE_INFINITY, [body]);
  if (raw === 'too-large') return raw;
  let bytes: Buffer = raw;
  for (const coding of wanted) {
    const stream = decoder(coding, bytes[0])!;
    stream.end(bytes);
    const out = await collect(stream as unknown as Readable, maxBytes, [stream as unknown as Readable]);
    if (out === 'too-large') return out;
    bytes = out;
  }
  return bytes;
}

async function collect(stream: Readable, maxBytes: number, toDestroy: Readable[]): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    total += b.byteLength;
    if (total > maxBytes) {
      for (const s of toDestroy) s.destroy();
      return 'too-large';
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total);
}
