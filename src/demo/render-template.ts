/**
 * The demo feed templates carry relative dates (`{{rfc822:-90m}}`, `{{iso:-3h}}`) so that their
 * items are always recent, whenever the demo runs: Tributary drops items older than its retention
 * window, and a demo with fixed dates would be empty a few months after release.
 */

const PLACEHOLDER = /\{\{\s*(rfc822|iso)\s*:\s*([+-]?\d+)\s*([mhd])\s*\}\}/g;

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Replaces every date placeholder with `now` shifted by the offset. `now` is floored to the minute
 * because publishers' timestamps look like that. Throws on a leftover `{{`, so a typo in a
 * template fails at start instead of shipping a feed with an unparseable date.
 */
export function renderFeedTemplate(template: string, now: Date): string {
  const anchor = Math.floor(now.getTime() / 60_000) * 60_000;
  const rendered = template.replace(PLACEHOLDER, (_match, format: string, amount: string, unit: string) => {
    const date = new Date(anchor + Number(amount) * (UNIT_MS[unit] ?? 0));
    return format === 'rfc822' ? formatRfc822(date) : formatIso(date);
  });
  const leftover = rendered.indexOf('{{');
  if (leftover !== -1) {
    throw new Error(`unknown placeholder in feed template: ${rendered.slice(leftover, leftover + 40)}`);
  }
  return rendered;
}

/** `Tue, 24 Nov 2026 08:34:00 +0000`: RSS wants a numeric zone more often than "GMT" in practice. */
export function formatRfc822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** `2026-11-24T08:34:00Z`, without milliseconds, as feeds usually write it. */
export function formatIso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
