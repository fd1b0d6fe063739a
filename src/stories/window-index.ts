import type { FeatureVector } from './features.ts';
import { storyBandKeys } from './minhash.ts';

/**
 * The stored members of one language within some time intervals, searchable by band key: what
 * story candidates are drawn from (assign.ts's matchEntries). Pure: the store fills it
 * (src/store/story-index.ts) and says which intervals it holds.
 *
 * Memory is the constraint: a cold round of 10,000 feeds puts ~190,000 entries in one 72 h window,
 * in a worker already over its RSS target. So members live in slots of typed arrays (entry id, time,
 * where the vector starts and how long it is), every vector in one slab (4-byte hash and 1-byte
 * flags per word), and band keys in an open-addressing table of two typed arrays whose value is the
 * member's slot when the key has one member (most keys) and a sorted list of slots only when it has
 * several. Nothing is removed one by one: shrinking rebuilds (rare, see retain).
 */

/** A time interval [lo, hi) in ms since the epoch. */
export interface Interval {
  lo: number;
  hi: number;
}

const EMPTY_KEY = -1;

/**
 * The next capacity of a growing array: a quarter more (at least `needed` more). The index is the
 * worker's largest structure (~70 MB for the 190,000 members of a 10,000-feed round) and growing
 * holds the old and the new array at once until the old one is collected: doubling left up to half
 * of the index empty and peaked at three times its content, which set the worker's peak RSS.
 * Copying is a memcpy, so growing more often costs little.
 */
function grown(capacity: number, needed: number): number {
  return capacity + Math.max(needed, Math.ceil(capacity / 4));
}

/**
 * Lists shorter than this are replaced by an exact-size copy when they grow. A push reserves
 * room for half the length plus 16 more elements, at 8 bytes each: for the ~110,000 shared keys of a
 * 10,000-feed round, mostly of 2–5 members, that was 23 MB of a 137 MB live heap.
 */
const EXACT_LIST = 16;

function inserted(list: readonly number[], i: number, value: number): number[] {
  const out = new Array<number>(list.length + 1);
  for (let j = 0; j < i; j++) out[j] = list[j]!;
  out[i] = value;
  for (let j = i; j < list.length; j++) out[j + 1] = list[j]!;
  return out;
}

export class WindowIndex {
  /** Intervals whose members are all here: sorted, disjoint and not touching. */
  intervals: Interval[] = [];
  private slots = 0;
  private live = 0;
  private ids = new Float64Array(256);
  private ats = new Float64Array(256);
  private starts = new Uint32Array(256);
  private lengths = new Uint16Array(256);
  /** Members found deleted (their story-id read came back empty): skipped, as SQL would. */
  private dead = new Uint8Array(256);
  private hashes = new Uint32Array(8192);
  private flags = new Uint8Array(8192);
  private slabUsed = 0;
  private keys = new Float64Array(512).fill(EMPTY_KEY);
  /** Per key: a slot (≥ 0), or -(list index + 1). */
  private values = new Int32Array(512);
  private keyCount = 0;
  private lists: number[][] = [];

  constructor(readonly lang: string) {}

  /** Members held (not counting those found deleted). */
  get size(): number {
    return this.live;
  }

  /**
   * Adds a member with its band keys (computed from the vector when not given). A member with no
   * band key can never be a candidate and takes no room.
   */
  add(entryId: number, at: number, vector: FeatureVector, bandKeys: readonly number[] = storyBandKeys(this.lang, vector)): void {
    if (bandKeys.length === 0) return;
    const slot = this.slots;
    if (slot === this.ids.length) this.growSlots(grown(slot, 1));
    const n = vector.hashes.length;
    if (this.slabUsed + n > this.hashes.length) this.growSlab(grown(this.hashes.length, this.slabUsed + n - this.hashes.length));
    this.hashes.set(vector.hashes, this.slabUsed);
    this.flags.set(vector.flags, this.slabUsed);
    this.ids[slot] = entryId;
    this.ats[slot] = at;
    this.starts[slot] = this.slabUsed;
    this.lengths[slot] = n;
    this.dead[slot] = 0;
    this.slabUsed += n;
    this.slots++;
    this.live++;
    for (let i = 0; i < bandKeys.length; i++) {
      const key = bandKeys[i]!;
      if (bandKeys.indexOf(key) === i) this.put(key, slot);
    }
  }

  entryId(slot: number): number {
    return this.ids[slot]!;
  }

  at(slot: number): number {
    return this.ats[slot]!;
  }

  /** The member's features: views into the slab, valid until the next add. */
  vector(slot: number): FeatureVector {
    const start = this.starts[slot]!;
    const end = start + this.lengths[slot]!;
    return { hashes: this.hashes.subarray(start, end), flags: this.flags.subarray(start, end) };
  }

  /** The entry no longer exists in the database: never a candidate again (a scan: rare). */
  kill(entryId: number): void {
    for (let s = 0; s < this.slots; s++) {
      if (this.ids[s] !== entryId || this.dead[s]) continue;
      this.dead[s] = 1;
      this.live--;
    }
  }

  /**
   * Appends to `out` the slots of the members carrying `key` that are nearest to `at` within
   * ±windowMs: at most `perSide` at or before it and `perSide` after it, ordered by (at, entry id),
   * the rule assign.ts's NEAREST_PER_SIDE describes.
   */
  nearest(key: number, at: number, windowMs: number, perSide: number, out: number[]): void {
    const p = this.find(key);
    if (this.keys[p] === EMPTY_KEY) return;
    const v = this.values[p]!;
    if (v >= 0) {
      if (!this.dead[v] && Math.abs(this.ats[v]! - at) <= windowMs) out.push(v);
      return;
    }
    const list = this.lists[-v - 1]!;
    const start = this.firstAfter(list, at - windowMs, -Infinity);
    const middle = this.firstAfter(list, at, Infinity);
    const end = this.firstAfter(list, at + windowMs, Infinity);
    for (let i = middle - 1, taken = 0; i >= start && taken < perSide; i--) {
      const s = list[i]!;
      if (!this.dead[s]) {
        out.push(s);
        taken++;
      }
    }
    for (let i = middle, taken = 0; i < end && taken < perSide; i++) {
      const s = list[i]!;
      if (!this.dead[s]) {
        out.push(s);
        taken++;
      }
    }
  }

  /** The parts of [lo, hi) not held. */
  missing(lo: number, hi: number): Interval[] {
    const out: Interval[] = [];
    let from = lo;
    for (const iv of this.intervals) {
      if (iv.hi <= from) continue;
      if (iv.lo >= hi) break;
      if (iv.lo > from) out.push({ lo: from, hi: iv.lo });
      from = Math.max(from, iv.hi);
      if (from >= hi) break;
    }
    if (from < hi) out.push({ lo: from, hi });
    return out;
  }

  /** Records that every member with a time in [lo, hi) is now held. */
  cover(lo: number, hi: number): void {
    const merged: Interval[] = [];
    let added = { lo, hi };
    for (const iv of this.intervals) {
      if (iv.hi < added.lo || iv.lo > added.hi) merged.push(iv);
      else added = { lo: Math.min(iv.lo, added.lo), hi: Math.max(iv.hi, added.hi) };
    }
    merged.push(added);
    this.intervals = merged.sort((a, b) => a.lo - b.lo);
  }

  /**
   * Keeps only members and intervals within [lo, hi): the bound on memory. Rebuilds every array
   * (band keys are computed again from the vectors), so callers shrink by a good margin at a time.
   */
  retain(lo: number, hi: number): void {
    const kept: Array<{ id: number; at: number; vector: FeatureVector }> = [];
    for (let s = 0; s < this.slots; s++) {
      if (this.dead[s] || this.ats[s]! < lo || this.ats[s]! >= hi) continue;
      const v = this.vector(s);
      kept.push({ id: this.ids[s]!, at: this.ats[s]!, vector: { hashes: v.hashes.slice(), flags: v.flags.slice() } });
    }
    const intervals = this.intervals.flatMap((iv) => (iv.hi <= lo || iv.lo >= hi ? [] : [{ lo: Math.max(iv.lo, lo), hi: Math.min(iv.hi, hi) }]));
    Object.assign(this, new WindowIndex(this.lang));
    this.intervals = intervals;
    // In time order, so each shared key's list is appended to rather than spliced.
    kept.sort((a, b) => a.at - b.at || a.id - b.id);
    for (const m of kept) this.add(m.id, m.at, m.vector);
  }

  /** Members with a time before `at`. */
  countBefore(at: number): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) if (!this.dead[s] && this.ats[s]! < at) n++;
    return n;
  }

  /** Members' times, for choosing what to retain. */
  times(): Float64Array {
    const out = new Float64Array(this.live);
    for (let s = 0, n = 0; s < this.slots; s++) if (!this.dead[s]) out[n++] = this.ats[s]!;
    return out;
  }

  /** Bytes held by the typed arrays and the shared keys' lists (8 bytes per element plus headers). */
  bytes(): number {
    let lists = 0;
    for (const l of this.lists) lists += 32 + 8 * l.length;
    return this.ids.byteLength + this.ats.byteLength + this.starts.byteLength + this.lengths.byteLength + this.dead.byteLength +
      this.hashes.byteLength + this.flags.byteLength + this.keys.byteLength + this.values.byteLength + lists;
  }

  private put(key: number, slot: number): void {
    if ((this.keyCount + 1) * 4 > this.keys.length * 3) this.growKeys(this.keys.length * 2);
    const p = this.find(key);
    if (this.keys[p] === EMPTY_KEY) {
      this.keys[p] = key;
      this.values[p] = slot;
      this.keyCount++;
      return;
    }
    const v = this.values[p]!;
    if (v >= 0) {
      this.lists.push(this.before(v, slot) ? [v, slot] : [slot, v]);
      this.values[p] = -this.lists.length;
      return;
    }
    const list = this.lists[-v - 1]!;
    const i = this.firstAfter(list, this.ats[slot]!, this.ids[slot]!);
    if (list.length < EXACT_LIST) {
      this.lists[-v - 1] = inserted(list, i, slot);
      return;
    }
    if (i === list.length) list.push(slot);
    else list.splice(i, 0, slot);
  }

  /** The key's position in the table, or the empty position where it would go (linear probing). */
  private find(key: number): number {
    const mask = this.keys.length - 1;
    // The low 32 bits of a band key are a mix32 output: uniform already.
    let p = key % 0x100000000 & mask;
    for (;;) {
      const k = this.keys[p]!;
      if (k === key || k === EMPTY_KEY) return p;
      p = (p + 1) & mask;
    }
  }

  private before(a: number, b: number): boolean {
    const ta = this.ats[a]!;
    const tb = this.ats[b]!;
    return ta < tb || (ta === tb && this.ids[a]! < this.ids[b]!);
  }

  /** Index of the first slot of a list sorted by (at, entry id) that comes after (at, entryId). */
  private firstAfter(list: readonly number[], at: number, entryId: number): number {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const s = list[mid]!;
      const t = this.ats[s]!;
      if (t < at || (t === at && this.ids[s]! <= entryId)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private growSlots(capacity: number): void {
    const grow = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.ids = grow(this.ids, (n) => new Float64Array(n));
    this.ats = grow(this.ats, (n) => new Float64Array(n));
    this.starts = grow(this.starts, (n) => new Uint32Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint16Array(n));
    this.dead = grow(this.dead, (n) => new Uint8Array(n));
  }

  private growSlab(capacity: number): void {
    const hashes = new Uint32Array(capacity);
    hashes.set(this.hashes.subarray(0, this.slabUsed));
    const flags = new Uint8Array(capacity);
    flags.set(this.flags.subarray(0, this.slabUsed));
    this.hashes = hashes;
    this.flags = flags;
  }

  private growKeys(capacity: number): void {
    const keys = this.keys;
    const values = this.values;
    this.keys = new Float64Array(capacity).fill(EMPTY_KEY);
    this.values = new Int32Array(capacity);
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === EMPTY_KEY) continue;
      const p = this.find(keys[i]!);
      this.keys[p] = keys[i]!;
      this.values[p] = values[i]!;
    }
  }
}
