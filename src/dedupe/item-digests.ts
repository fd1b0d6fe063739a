/**
 * What a feed's last stored document held, kept with the feed (feed_item_digests) so its next
 * document need not normalise the items it already had: per item, the raw digest the parser
 * computed (src/parse/raw-digest.ts) and the item key it was stored under. The key is kept so the
 * document's other items get the same keys as if every item had been normalised (a repeated key
 * takes the next free `#n`, identity.ts).
 *
 * Only items that have a live source after the poll are recorded: an item skipped as too old or
 * held back by a tombstone is normalised at every poll, so its tombstone keeps being marked as
 * listed (tombstones.ts). A deleted source clears its feed's record (sql/016).
 *
 * Text, 26 characters per item: 12 hex of raw digest, the first 12 hex of the item key, and its
 * `#n` as 2 hex (items past #255 are not recorded: normalised each time).
 */
export interface ItemDigest {
  digest: string;
  /** The item key's first 12 hex digits. */
  keyPrefix: string;
  /** 1 for a key without `#n`. */
  n: number;
}

const RECORD = 26;

export function encodeItemDigests(records: readonly ItemDigest[]): string {
  let out = '';
  for (const r of records) if (r.n >= 1 && r.n <= 255) out += r.digest + r.keyPrefix + r.n.toString(16).padStart(2, '0');
  return out;
}

/** By raw digest. Malformed text (not written by encodeItemDigests) reads as no record. */
export function decodeItemDigests(text: string | null | undefined): Map<string, ItemDigest> {
  const out = new Map<string, ItemDigest>();
  if (!text || text.length % RECORD !== 0) return out;
  for (let i = 0; i < text.length; i += RECORD) {
    const digest = text.slice(i, i + 12);
    out.set(digest, { digest, keyPrefix: text.slice(i + 12, i + 24), n: parseInt(text.slice(i + 24, i + 26), 16) });
  }
  return out;
}

/** An item key as a record's key part. */
export function keyParts(itemKey: string): { keyPrefix: string; n: number } {
  const hash = itemKey.indexOf('#');
  return { keyPrefix: itemKey.slice(0, 12), n: hash < 0 ? 1 : Number(itemKey.slice(hash + 1)) };
}
