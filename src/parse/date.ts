/**
 * Feed dates → UTC ISO-8601. Pure: never consults the process time zone or the clock.
 *
 * `new Date(string)` reads zone-less input in server-local time and knows few zone names, so
 * RFC 822 (RSS) and ISO 8601 (Atom, JSON Feed, dc:date) are parsed here by hand. A date without a
 * zone is read as UTC. Anything we cannot read with confidence is null, never "now".
 */

const ISO_8601 =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Minutes east of UTC. IST is India (the most common reading in feeds); Irish/Israeli IST lose. */
const NAMED_ZONES: Readonly<Record<string, number>> = {
  UT: 0, UTC: 0, GMT: 0, Z: 0, WET: 0,
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420,
  AKST: -540, AKDT: -480, HST: -600, AST: -240, ADT: -180, NST: -210, NDT: -150,
  BST: 60, WEST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120, WAT: 60,
  EET: 120, EEST: 180, CAT: 120, SAST: 120, MSK: 180, EAT: 180,
  IST: 330, PKT: 300, ICT: 420, WIB: 420, HKT: 480, SGT: 480, PHT: 480, AWST: 480,
  JST: 540, KST: 540, ACST: 570, AEST: 600, AEDT: 660, NZST: 720, NZDT: 780,
};

/** RFC 822 military zones: A–I = +1..+9, K–M = +10..+12 (J is unused), N–Y = −1..−12. */
function militaryZone(letter: string): number | null {
  const c = letter.toUpperCase().charCodeAt(0);
  if (letter.length !== 1 || c < 65 || c > 90 || c === 74 /* J */) return null;
  if (c === 90) return 0; // Z
  if (c <= 73) return (c - 64) * 60; // A..I
  if (c <= 77) return (c - 65) * 60; // K..M (skip J)
  return -(c - 77) * 60; // N..Y
}

/** English names plus the abbreviations French, Italian, Spanish and German feeds use. */
const MONTHS: ReadonlyArray<readonly [number, readonly string[]]> = [
  [1, ['jan', 'january', 'janv', 'janvier', 'gen', 'gennaio', 'ene', 'enero', 'januar', 'jän']],
  [2, ['feb', 'february', 'fév', 'févr', 'fevr', 'février', 'fevrier', 'febbraio', 'febrero', 'februar']],
  [3, ['mar', 'march', 'mars', 'marzo', 'mär', 'märz', 'marz']],
  [4, ['apr', 'april', 'avr', 'avril', 'aprile', 'abr', 'abril']],
  [5, ['may', 'mai', 'mag', 'maggio', 'mayo']],
  [6, ['jun', 'june', 'juin', 'giu', 'giugno', 'junio', 'juni']],
  [7, ['jul', 'july', 'juil', 'juillet', 'lug', 'luglio', 'julio', 'juli']],
  [8, ['aug', 'august', 'aoû', 'août', 'aout', 'ago', 'agosto']],
  [9, ['sep', 'sept', 'september', 'septembre', 'set', 'settembre', 'septiembre']],
  [10, ['oct', 'october', 'octobre', 'ott', 'ottobre', 'octubre', 'okt', 'oktober']],
  [11, ['nov', 'november', 'novembre', 'noviembre']],
  [12, ['dec', 'december', 'déc', 'décembre', 'decembre', 'dic', 'dicembre', 'diciembre', 'dez', 'dezember']],
];
const MONTH_BY_NAME = new Map<string, number>(MONTHS.flatMap(([n, names]) => names.map((name) => [name, n] as const)));

const WEEKDAY = /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*$|^(lun|mar|mer|jeu|ven|sam|dim|gio|sab|dom|mié|jue|vie|mo|di|mi|do|fr|sa|so)\.?$/i;
const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?$/;
const NUMERIC_ZONE = /^(?:(?:GMT|UTC|UT)?([+-])(\d{1,2}):?(\d{2})?)$/i;

/** Parses a feed date; returns UTC ISO-8601 with milliseconds, or null. */
export function parseDate(input: string | null | undefined): string | null {
  if (typeof input !== 'string') return null;
  // Bounded: real dates are short, and this keeps the regexes' work constant.
  const text = input.trim().replace(/\s+/g, ' ');
  if (text === '' || text.length > 100) return null;
  return parseIso(text) ?? parseRfc822Like(text);
}

function parseIso(text: string): string | null {
  const m = ISO_8601.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  const offset = zone ? zoneOffset(zone) : 0;
  if (offset === null) return null;
  return build(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), Math.min(ms, 999), offset);
}

function parseRfc822Like(text: string): string | null {
  // Drop comments like "(CEST)" that follow a numeric zone, then split into words.
  const tokens = text
    .replace(/\([^)]*\)/g, ' ')
    .split(/[\s,]+/)
    .filter((t) => t !== '');
  let day: number | null = null;
  let month: number | null = null;
  let year: number | null = null;
  let time: RegExpExecArray | null = null;
  let offset: number | null = null;
  const numbers: string[] = [];

  const isMonth = (t: string): boolean => MONTH_BY_NAME.has(t.toLowerCase().replace(/\.$/, ''));
  const first = tokens[0] ?? '';
  // "mar" is both a weekday (French/Italian) and a month: a leading one is a weekday when a month follows.
  const start = WEEKDAY.test(first) && (!isMonth(first) || tokens.slice(1).some(isMonth)) ? 1 : 0;

  for (const token of tokens.slice(start)) {
    const lower = token.toLowerCase().replace(/\.$/, '');
    if (time === null && TIME.test(token)) {
      time = TIME.exec(token);
      continue;
    }
    if (/^\d+$/.test(token)) {
      numbers.push(token);
      continue;
    }
    if (month === null && MONTH_BY_NAME.has(lower)) {
      month = MONTH_BY_NAME.get(lower) ?? null;
      continue;
    }
    if (WEEKDAY.test(token)) continue; // day names are optional and often wrong: ignore them
    if (offset === null && time !== null) {
      const zone = zoneOffset(token);
      if (zone !== null) {
        offset = zone;
        continue;
      }
    }
    return null; // an unknown word means we do not really know what this is
  }
  if (month === null) return null;

  for (const n of numbers) {
    if (n.length === 4 && year === null) year = Number(n);
    else if (n.length <= 2 && day === null) day = Number(n);
    else if (n.length <= 2 && year === null) year = twoDigitYear(Number(n));
    else return null;
  }
  if (day === null || year === null) return null;
  const [, h = '0', mi = '0', s = '0'] = time ?? [];
  return build(year, month, day, Number(h), Number(mi), Number(s), 0, offset ?? 0);
}

/** RFC 2822 §4.3: 00–49 → 20xx, 50–99 → 19xx. */
function twoDigitYear(y: number): number {
  return y < 50 ? 2000 + y : 1900 + y;
}

function zoneOffset(zone: string): number | null {
  const upper = zone.toUpperCase();
  const named = NAMED_ZONES[upper];
  if (named !== undefined) return named;
  const m = NUMERIC_ZONE.exec(zone);
  if (m) {
    const [, sign, hh = '0', mm = '0'] = m;
    const hours = Number(hh);
    const minutes = Number(mm);
    if (hours > 14 || minutes > 59) return null;
    return (sign === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  return militaryZone(zone);
}

function build(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, offsetMinutes: number): string | null {
  if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  if (h > 24 || mi > 59 || s > 60 || (h === 24 && (mi > 0 || s > 0))) return null;
  const sec = Math.min(s, 59); // a leap second is not worth rejecting a date over
  const local = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  // Date.UTC rolls 31 Feb over into March: reject instead of guessing.
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return new Date(local - offsetMinutes * 60_000).toISOString();
}
