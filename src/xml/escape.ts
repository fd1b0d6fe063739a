/**
 * Characters XML 1.0 forbids: C0 controls except tab/LF/CR, lone surrogates, U+FFFE and U+FFFF.
 * A lone surrogate matches on its own while a valid pair is left alone.
 */
const ILLEGAL_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function stripIllegalXml(text: string): string {
  return text.replace(ILLEGAL_XML, '');
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Text safe in XML element content and in double- or single-quoted attributes. */
export function escapeXml(text: string | null | undefined): string {
  if (text == null) return '';
  return stripIllegalXml(String(text)).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/**
 * For attribute values that must keep tabs and line breaks: those are written as references,
 * which attribute-value normalisation leaves alone.
 */
export function escapeXmlAttribute(text: string): string {
  return stripIllegalXml(text).replace(/[&<>"'\t\n\r]/g, (c) => ESCAPES[c] ?? c);
}
