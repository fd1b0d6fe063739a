import { isIPv6 } from 'node:net';

/**
 * Requests per client address per minute, in fixed one-minute windows shared by every client
 * (all counts start over at the window's end), with the draft-8 `RateLimit` / `RateLimit-Policy`
 * headers.
 *
 * Our own rather than express-rate-limit because it runs on every request and the profile showed
 * the library's per-request work: an async store round (extra microtask hops), a SHA-256 of the
 * key for the draft-8 partition key, and its own header building. Here a request costs one Map
 * lookup and two precomputed-prefix headers, and the same limiter serves the Express middleware
 * and the front door (src/api/front-door.ts), so a client is counted once whichever path answers.
 * Like express-rate-limit's default, IPv6 clients are counted per /56: one host holds a whole
 * prefix, so counting single addresses would not limit it at all.
 */
export class RateLimiter {
  private counts = new Map<string, number>();
  private windowEnds: number;
  readonly policy: string;
  private readonly name: string;

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {
    this.name = `"${perMinute}-in-1min"`;
    this.policy = `${this.name}; q=${perMinute}; w=60`;
    this.windowEnds = now() + 60_000;
  }

  /**
   * Counts one request from `address`; returns the headers to send and whether it is allowed.
   * The headers are `[name, value]` pairs so callers can put them in a writeHead list or setHeader them.
   */
  take(address: string | undefined): { allowed: boolean; headers: [string, string][]; retryAfterS: number } {
    const t = this.now();
    if (t >= this.windowEnds) {
      // One new map instead of a sweep: the window ended for every client at once.
      this.counts = new Map();
      this.windowEnds = t + 60_000;
    }
    const key = clientKey(address ?? '');
    const used = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, used);
    const resetS = Math.max(0, Math.ceil((this.windowEnds - t) / 1000));
    return {
      allowed: used <= this.perMinute,
      headers: [
        ['RateLimit-Policy', this.policy],
        ['RateLimit', `${this.name}; r=${Math.max(0, this.perMinute - used)}; t=${resetS}`],
      ],
      retryAfterS: resetS,
    };
  }
}

/** The counted unit: an IPv4 address (IPv4-mapped IPv6 included), or the /56 prefix of an IPv6 address. */
export function clientKey(address: string): string {
  // No colon, no IPv6: skips isIPv6's long regular expression (it showed in the 304 profile).
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  const g = groups.map((x) => parseInt(x || '0', 16));
  // 56 bits: three whole groups and the high byte of the fourth.
  return `${g[0]!.toString(16)}:${g[1]!.toString(16)}:${g[2]!.toString(16)}:${(g[3]! & 0xff00).toString(16)}::/56`;
}
