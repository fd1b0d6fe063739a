import { describe, expect, it } from 'vitest';
import { decodeFeedBytes } from '../../src/fetch/charset.ts';
import { encodeWindows1252 } from '../helpers/fault-server.ts';

const ITALIAN = 'perché è città';

describe('decodeFeedBytes', () => {
  it('reads windows-1252 from the XML prolog when the header has no charset', () => {
    const bytes = encodeWindows1252(`<?xml version="1.0" encoding="windows-1252"?><rss><title>${ITALIAN} – €</title></rss>`);
    // The bytes really are single-byte: é is 0xE9, not UTF-8's C3 A9.
    expect(bytes.includes(0xe9)).toBe(true);
    const { text, charset } = decodeFeedBytes(bytes, 'application/rss+xml');
    expect(charset).toBe('windows-1252');
    expect(text).toContain(`${ITALIAN} – €`);
  });

  it('without any declaration decodes UTF-8 and reads bytes that are not UTF-8 as windows-1252 instead of throwing', () => {
    const bytes = encodeWindows1252(`<rss><title>${ITALIAN} “€”</title></rss>`);
    const { text, charset } = decodeFeedBytes(bytes, null);
    expect(charset).toBe('utf-8');
    expect(text).toContain(`${ITALIAN} “€”`);
  });

  it('prefers the Content-Type charset over the XML prolog', () => {
    const bytes = encodeWindows1252(`<?xml version="1.0" encoding="utf-8"?><rss><title>${ITALIAN}</title></rss>`);
    expect(decodeFeedBytes(bytes, 'text/xml; charset="windows-1252"').text).toContain(ITALIAN);
    expect(decodeFeedBytes(bytes, 'text/xml; Charset=Windows-1252; foo=bar').charset).toBe('windows-1252');
  });

  it('decodes a declared iso-8859-1 like windows-1252 (curly quotes in 0x80–0x9F)', () => {
    const bytes = encodeWindows1252(`<?xml version="1.0" encoding="ISO-8859-1"?><t>“${ITALIAN}”</t>`);
    const { text, charset } = decodeFeedBytes(bytes, null);
    expect(charset).toBe('windows-1252');
    expect(text).toContain(`“${ITALIAN}”`);
  });

  it('lets a UTF-16LE BOM win over a contradicting header, and strips it', () => {
    const xml = `<?xml version="1.0" encoding="UTF-16"?><rss><title>${ITALIAN}</title></rss>`;
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const { text, charset } = decodeFeedBytes(bytes, 'application/xml; charset=iso-8859-1');
    expect(charset).toBe('utf-16le');
    expect(text).toBe(xml);
  });

  it('handles a UTF-16BE BOM', () => {
    const le = Buffer.from(`<rss>${ITALIAN}</rss>`, 'utf16le');
    const be = Buffer.from(le).swap16();
    const { text, charset } = decodeFeedBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), null);
    expect(charset).toBe('utf-16be');
    expect(text).toBe(`<rss>${ITALIAN}</rss>`);
  });

  it('strips a UTF-8 BOM and ignores a contradicting prolog', () => {
    const xml = `<?xml version="1.0" encoding="windows-1252"?><rss><title>${ITALIAN}</title></rss>`;
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml, 'utf8')]);
    const { text, charset } = decodeFeedBytes(bytes, null);
    expect(charset).toBe('utf-8');
    expect(text).toBe(xml);
    expect(text.charCodeAt(0)).toBe('<'.charCodeAt(0));
  });

  it('falls back to UTF-8 for an unknown label', () => {
    const xml = `<?xml version="1.0" encoding="x-klingon"?><t>${ITALIAN}</t>`;
    const { text, charset } = decodeFeedBytes(Buffer.from(xml), 'text/xml; charset=bogus');
    expect(charset).toBe('utf-8');
    expect(text).toBe(xml);
  });

  it('treats a prolog claiming UTF-16 on single-byte text as UTF-8', () => {
    const xml = `<?xml version="1.0" encoding="UTF-16"?><t>${ITALIAN}</t>`;
    expect(decodeFeedBytes(Buffer.from(xml), null).text).toBe(xml);
  });

  it('reads a <meta charset> in HTML', () => {
    const html = `<!doctype html><html><head><meta charset="windows-1252"><title>${ITALIAN}</title></head></html>`;
    expect(decodeFeedBytes(encodeWindows1252(html), 'text/html').text).toContain(ITALIAN);
    const httpEquiv = `<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head></html>`;
    expect(decodeFeedBytes(Buffer.from(httpEquiv), null).charset).toBe('koi8-r');
  });

  it('decodes other legacy charsets named in the prolog (koi8-r, shift_jis)', () => {
    const koi8 = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="KOI8-R"?><t>'), Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]), Buffer.from('</t>')]);
    expect(decodeFeedBytes(koi8, null).text).toContain('Привет');
    const sjis = Buffer.concat([Buffer.from("<?xml version='1.0' encoding='Shift_JIS'?><t>"), Buffer.from([0x93, 0xfa, 0x96, 0x7b]), Buffer.from('</t>')]);
    expect(decodeFeedBytes(sjis, null).text).toContain('日本');
  });

  it('maps every windows-1252 byte in 0x80–0x9F per WHATWG (Node 20 decodes them as C1 controls)', () => {
    const high = Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const { text } = decodeFeedBytes(Buffer.from(high), 'text/xml; charset=windows-1252');
    expect(text).toBe('€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ');
    // Latin-1 letters above 0x9F are untouched.
    expect(decodeFeedBytes(Buffer.from([0xe0, 0xe8, 0xe9, 0xff]), 'text/xml; charset=latin1').text).toBe('àèéÿ');
  });

  it('decodes plain UTF-8 and empty input', () => {
    expect(decodeFeedBytes(Buffer.from(`<t>${ITALIAN}</t>`), 'application/json').text).toBe(`<t>${ITALIAN}</t>`);
    expect(decodeFeedBytes(new Uint8Array(0), null)).toEqual({ text: '', charset: 'utf-8' });
  });
});
