/**
 * UTF-8 that was decoded as windows-1252 (or Latin-1) and encoded again: "â€™" for "’", "Ã©"
 * for "é". Repaired only when the whole field maps back to bytes that are valid UTF-8, so text
 * that merely contains "Ã" (or mixes real accents with damage) is left alone.
 */

/** windows-1252's characters for bytes 0x80–0x9F (the five undefined bytes map to themselves). */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';
const BYTE_OF = new Map<number, number>([...CP1252_HIGH].map((c, i) => [c.charCodeAt(0), 0x80 + i]));

/** A UTF-8 lead byte read as a character, followed by a continuation byte read as one. */
const DAMAGE = /[\u00C2-\u00F4][\u0080-\u00BF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC\u2013\u2014\u2018-\u201E\u2020-\u2022\u2026\u2030\u2039\u203A\u20AC\u2122]/;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function repairDoubleEncoding(text: string): string {
  if (!DAMAGE.test(text)) return text;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = c <= 0xff ? c : BYTE_OF.get(c);
    if (b === undefined) return text; // a character no single byte gives: not double-encoded as a whole
    bytes[i] = b;
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return text;
  }
}
