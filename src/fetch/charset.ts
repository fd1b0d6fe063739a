/**
 * Turns feed bytes into text. Used for HTTP bodies and for local files (`tributary parse`), so it
 * only takes the bytes and an optional Content-Type.
 *
 * Order: byte order mark, then the Content-Type charset, then the XML prolog encoding, then (for
 * HTML) a <meta> charset, then UTF-8. Decoding never throws: invalid bytes become U+FFFD.
 */
import { TextDecoder } from 'node:util';

export interface DecodedText {
  text: string;
  /** The WHATWG name of the encoding used (e.g. "utf-8", "windows-1252" for a declared iso-8859-1). */
  charset: string;
}

/** Declarations live in the first bytes; 1 KB is what HTML's prescan looks at too. */
const SNIFF_BYTES = 1024;

export function decodeFeedBytes(bytes: Uint8Array, contentType: string | null): DecodedText {
  const bom = bomEncoding(bytes);
  if (bom) return decodeWith(bom.encoding, bytes.subarray(bom.length));

  const fromHeader = contentType ? charsetFromContentType(contentType) : null;
  const headerDecoder = fromHeader ? decoderFor(fromHeader) : null;
  if (headerDecoder) return decodeWith(headerDecoder.encoding, bytes);

  const bomless16 = bomlessUtf16(bytes);
  if (bomless16) return decodeWith(bomless16, bytes);

  // latin1 maps every byte to one char, so offsets and ASCII markup survive whatever the real encoding is.
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, SNIFF_BYTES)).toString('latin1');
  const declared = xmlPrologEncoding(head) ?? (looksLikeHtml(head, contentType) ? htmlMetaCharset(head) : null);
  const declaredDecoder = declared ? decoderFor(declared) : null;
  // We just read the declaration as single bytes, so the document is not really UTF-16 (a common lie).
  if (declaredDecoder && !declaredDecoder.encoding.startsWith('utf-16')) {
    return decodeWith(declaredDecoder.encoding, bytes);
  }
  return decodeWith('utf-8', bytes);
}

function bomEncoding(b: Uint8Array): { encoding: string; length: number } | null {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

/** "<?" written in UTF-16 without a BOM (XML spec, appendix F). */
function bomlessUtf16(b: Uint8Array): string | null {
  if (b[0] === 0x3c && b[1] === 0x00 && b[2] === 0x3f && b[3] === 0x00) return 'utf-16le';
  if (b[0] === 0x00 && b[1] === 0x3c && b[2] === 0x00 && b[3] === 0x3f) return 'utf-16be';
  return null;
}

export function charsetFromContentType(contentType: string): string | null {
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  const label = (m?.[1] ?? m?.[2] ?? '').trim();
  return label === '' ? null : label;
}

function xmlPrologEncoding(head: string): string | null {
  const m = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(head);
  return m ? (m[1] ?? m[2] ?? '').trim() || null : null;
}

function looksLikeHtml(head: string, contentType: string | null): boolean {
  if (contentType && /html/i.test(contentType)) return true;
  return /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html|head|meta)\b/i.test(head);
}

function htmlMetaCharset(head: string): string | null {
  const direct = /<meta\s[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)/i.exec(head);
  return direct?.[1] ?? null;
}

function decoderFor(label: string): TextDecoder | null {
  try {
    return new TextDecoder(label);
  } catch {
    return null; // RangeError: a label the WHATWG Encoding Standard does not know
  }
}

/**
 * WHATWG windows-1252 for bytes 0x80–0x9F. Node 20's TextDecoder decodes "windows-1252" (and so
 * iso-8859-1, latin1, us-ascii, its aliases) as plain Latin-1, turning “smart quotes” and € into
 * C1 control characters. Remapping them afterwards is correct on a fixed Node too: there the only
 * C1 characters left are the five bytes that map to themselves.
 */
const WINDOWS_1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

function fixWindows1252(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80] ?? c);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * UTF-8, except that a byte which is not part of a valid UTF-8 sequence is read as windows-1252:
 * publishers paste “smart quotes”, dashes and € from windows-1252 tools into UTF-8 documents.
 * Valid UTF-8 (the common case) costs one strict decode; only a damaged document is walked.
 */
function decodeUtf8WithStray1252(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    // fall through: at least one invalid sequence
  }
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > start) parts.push(strictUtf8.decode(bytes.subarray(start, i)));
    const b = bytes[i] ?? 0;
    parts.push(b >= 0x80 && b <= 0x9f ? (WINDOWS_1252_HIGH[b - 0x80] ?? '\ufffd') : String.fromCharCode(b));
    i++;
    start = i;
  }
  if (start < bytes.length) parts.push(strictUtf8.decode(bytes.subarray(start)));
  return parts.join('');
}

/** Length of the valid UTF-8 sequence at `i` (1–4), or 0 when the byte there does not start one. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i] ?? 0;
  if (c < 0x80) return 1;
  const cont = (k: number): boolean => ((b[i + k] ?? 0) & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const c1 = b[i + 1] ?? 0;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return 0; // overlong, surrogates
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const c1 = b[i + 1] ?? 0;
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return 0;
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

function decodeWith(encoding: string, bytes: Uint8Array): DecodedText {
  // ignoreBOM: true because the caller already removed the BOM that chose the encoding; a stray one is stripped below.
  let text = encoding === 'utf-8' ? decodeUtf8WithStray1252(bytes) : new TextDecoder(encoding, { fatal: false, ignoreBOM: true }).decode(bytes);
  if (encoding === 'windows-1252') text = fixWindows1252(text);
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, charset: encoding };
}
