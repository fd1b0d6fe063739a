/**
 * SSRF protection: feeds are URLs typed by users, so without a guard anyone could make the server
 * read its own admin ports, the cloud metadata service (169.254.169.254) or the office network.
 *
 * Two layers use the same rule:
 * - `checkFeedUrl` validates input up front and explains a refusal in a sentence;
 * - `createGuardedConnector` checks the address actually connected to, on every request and
 *   every redirect hop, so DNS that changes between check and fetch (rebinding) gains nothing.
 */
import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector } from 'undici';

export interface AddressAllowList {
  /** true: every address is allowed (a trusted network, or tests). */
  all: boolean;
  /** Ranges allowed in addition to public unicast, e.g. "10.0.0.0/8", "127.0.0.1/32". */
  cidrs: string[];
}

export interface LookupAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses; `dns.promises.lookup` fits. */
export type LookupAll = (hostname: string, options: { all: true }) => Promise<LookupAddress[]>;

export const defaultLookup: LookupAll = (hostname, options) => dns.promises.lookup(hostname, options);

/** Thrown by the connector so the fetcher can tell a refusal from a network failure. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_ADDRESS_BLOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'BlockedAddressError';
  }
}

type Parsed = ReturnType<typeof ipaddr.parse>;

/** An address as the guard judges it: `judged` is the IPv4 address an IPv6 form embeds, else the address itself. */
interface Classified {
  addr: Parsed;
  judged: Parsed;
}

function bareHost(ip: string): string {
  return ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
}

/** Parses an address, unwrapping IPv4-mapped IPv6 (::ffff:127.0.0.1 is 127.0.0.1); null if not an IP. */
function parseAddress(ip: string): Parsed | null {
  const bare = bareHost(ip);
  if (!ipaddr.isValid(bare)) return null;
  try {
    return ipaddr.process(bare);
  } catch {
    return null;
  }
}

const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const NAT64_LOCAL = ipaddr.parseCIDR('64:ff9b:1::/48');
const IPV4_TRANSLATED = ipaddr.parseCIDR('::ffff:0:0:0/96');
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
const TEREDO = ipaddr.parseCIDR('2001::/32');

/**
 * The IPv4 address an IPv6 form carries, which is where a packet to it ends up (through a
 * translator or a tunnel), so that is the address to judge. ipaddr.js calls most of these
 * "unicast": `::a9fe:a9fe` would otherwise pass as public while it reaches 169.254.169.254.
 * IPv4-mapped (::ffff:0:0/96) is unwrapped by ipaddr.process already.
 */
function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 | null {
  const b = addr.toByteArray();
  const v4 = (at: number[], xor = 0) => new ipaddr.IPv4(at.map((i) => (b[i]! ^ xor) & 0xff));
  const last32 = [12, 13, 14, 15];
  // IPv4-compatible (deprecated, ::a.b.c.d); :: and ::1 stay the IPv6 unspecified and loopback addresses.
  if (addr.match(IPV4_COMPATIBLE) && !b.slice(0, 15).every((x) => x === 0)) return v4(last32);
  if (addr.match(NAT64) || addr.match(IPV4_TRANSLATED)) return v4(last32);
  if (addr.match(NAT64_LOCAL)) {
    // A local-use translator may use any RFC 6052 layout (/48, /56, /64, /96; byte 8 is reserved):
    // judge by the first layout that reaches a non-public address, so none of them slips through
    // (a candidate in 0.0.0.0/8 is just the /96 layout's zero padding).
    const layouts = [[6, 7, 9, 10], [7, 9, 10, 11], [9, 10, 11, 12]].map((at) => v4(at));
    return layouts.find((a) => a.range() !== 'unicast' && a.octets[0] !== 0) ?? v4(last32);
  }
  if (addr.match(SIX_TO_FOUR)) return v4([2, 3, 4, 5]);
  // Teredo: the client's public address is the last 32 bits, inverted.
  if (addr.match(TEREDO)) return v4(last32, 0xff);
  return null;
}

function classify(ip: string): Classified | null {
  const addr = parseAddress(ip);
  if (!addr) return null;
  const embedded = addr instanceof ipaddr.IPv6 ? embeddedIPv4(addr) : null;
  return { addr, judged: embedded ?? addr };
}

function inCidr(addr: Parsed, cidr: string): boolean {
  let range: [Parsed, number];
  try {
    range = ipaddr.parseCIDR(cidr.trim());
  } catch {
    return false; // the config validates CIDRs; a bad one here allows nothing
  }
  const [net, bits] = range;
  if (addr.kind() === net.kind()) return addr.match(net, bits);
  // An IPv4 address against an IPv6 range (e.g. ::ffff:0:0/96): compare in IPv6 form.
  if (addr instanceof ipaddr.IPv4 && net instanceof ipaddr.IPv6) return addr.toIPv4MappedAddress().match(net, bits);
  return false;
}

/**
 * A CIDR range as ALLOW_PRIVATE_NETWORKS takes it: a dotted-quad IPv4 or an IPv6 address, a slash
 * and a prefix length that fits (ipaddr.js alone would also take the shorthand "10.0.0/8").
 */
export function isValidCidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/');
  if (address === undefined || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) return false;
  const shaped = address.includes(':') ? /^[0-9a-f:.]+$/i.test(address) : /^\d{1,3}(\.\d{1,3}){3}$/.test(address);
  return shaped && ipaddr.isValidCIDR(text);
}

/**
 * Public unicast addresses are always allowed; anything else only by `all` or a listed CIDR. An
 * IPv6 form that embeds an IPv4 address is judged by that address (a listed range may name either).
 */
export function isAllowedAddress(ip: string, allow: AddressAllowList): boolean {
  if (allow.all) return true;
  const c = classify(ip);
  if (!c) return false;
  if (c.judged.range() === 'unicast') return true;
  return allow.cidrs.some((cidr) => inCidr(c.judged, cidr) || inCidr(c.addr, cidr));
}

const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'in a private network',
  linkLocal: 'link-local',
  uniqueLocal: 'a unique-local (private) IPv6 address',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  carrierGradeNat: 'in a carrier-grade NAT range',
  reserved: 'reserved',
};

/**
 * "address 127.0.0.1 is loopback; private networks are not allowed (set ALLOW_PRIVATE_NETWORKS)",
 * or "…; not in ALLOW_PRIVATE_NETWORKS (10.0.0.0/8)" when an allow list is set.
 */
export function refusalReason(ip: string, allow: AddressAllowList = { all: false, cidrs: [] }): string {
  const c = classify(ip);
  const policy =
    allow.cidrs.length > 0
      ? `not in ALLOW_PRIVATE_NETWORKS (${allow.cidrs.join(', ')})`
      : 'private networks are not allowed (set ALLOW_PRIVATE_NETWORKS)';
  if (!c) return `address ${ip} is not a valid IP address; ${policy}`;
  const range = c.judged.range();
  const what = RANGE_WORDS[range] ?? `in the special range "${range}"`;
  const shown = c.judged === c.addr ? c.addr.toString() : `${c.addr.toString()} (embedding ${c.judged.toString()})`;
  return `address ${shown} is ${what}; ${policy}`;
}

export type FeedUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Validates a feed URL typed by a user (API, CLI, OPML import, FEEDS) without touching the
 * network: http(s) only, no credentials, and an IP-literal host must be allowed. Host names are
 * judged when they are resolved, at connect time (createGuardedConnector), so a feed can be added
 * while its host is unreachable. Returns the URL normalised, without a fragment.
 */
export function checkFeedUrl(input: string, allow: AddressAllowList): FeedUrlCheck {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return { ok: false, reason: `"${truncate(input)}" is not a valid absolute URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `only http and https feeds are supported, not ${url.protocol}` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'feed URLs with a user name or password are not accepted' };
  }
  // The WHATWG parser already turned 2130706433 and 0x7f.1 into 127.0.0.1.
  const host = bareHost(url.hostname);
  if (host === '') return { ok: false, reason: 'the URL has no host' };
  if (net.isIP(host) !== 0 && !isAllowedAddress(host, allow)) return { ok: false, reason: refusalReason(host, allow) };
  url.hash = '';
  return { ok: true, url: url.href };
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export interface GuardedConnectorOptions {
  allow: AddressAllowList;
  lookup?: LookupAll;
  /** Milliseconds to establish a TCP/TLS connection. */
  connectTimeoutMs?: number;
}

type NetLookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/**
 * An undici connector (`new Agent({ connect })`) that only ever connects to allowed addresses:
 * host names resolve through a filtering lookup, IP literals (which skip lookup) are checked
 * before connecting, and the socket's real peer address is checked once connected.
 */
export function createGuardedConnector(opts: GuardedConnectorOptions): buildConnector.connector {
  const { allow } = opts;
  const lookupAll = opts.lookup ?? defaultLookup;

  // net.connect calls this for host names only. With autoSelectFamily (Node 20's default) it asks
  // for all addresses; otherwise for one.
  const guardedLookup = (hostname: string, options: { family?: number | string; all?: boolean }, callback: NetLookupCallback): void => {
    lookupAll(hostname, { all: true }).then(
      (addresses) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : Number(options.family ?? 0);
        const candidates = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
        const allowed = candidates.filter((a) => isAllowedAddress(a.address, allow));
        const first = allowed[0];
        if (!first) {
          const refused = candidates[0];
          const err = refused
            ? new BlockedAddressError(`${hostname} resolves to ${refusalReason(refused.address, allow)}`)
            : Object.assign(new Error(`host ${hostname} has no addresses`), { code: 'ENOTFOUND' });
          callback(err, []);
          return;
        }
        if (options.all) callback(null, allowed);
        else callback(null, first.address, first.family);
      },
      (err: Error) => callback(err, []),
    );
  };

  const base = buildConnector({
    timeout: opts.connectTimeoutMs ?? 10_000,
    // The typings want net's full LookupFunction overloads; ours implements both call forms above.
    lookup: guardedLookup as unknown as net.LookupFunction,
  });

  return (options, callback) => {
    // undici passes an IPv6 literal in brackets; net.isIP wants it bare.
    const host = bareHost(options.hostname);
    if (net.isIP(host) !== 0 && !isAllowedAddress(host, allow)) {
      callback(new BlockedAddressError(refusalReason(host, allow)), null);
      return;
    }
    base(options, (err, socket) => {
      if (err !== null) {
        callback(err, null);
        return;
      }
      const remote = socket.remoteAddress;
      if (remote === undefined || !isAllowedAddress(remote, allow)) {
        socket.destroy();
        callback(new BlockedAddressError(remote ? refusalReason(remote, allow) : `${host}: connected peer has no address`), null);
        return;
      }
      callback(null, socket);
    });
  };
}

/** An undici Agent whose every connection, including each redirect hop, goes through the guard. */
export function createGuardedAgent(opts: GuardedConnectorOptions & { agent?: Omit<Agent.Options, 'connect'> }): Agent {
  return new Agent({ ...opts.agent, connect: createGuardedConnector(opts) });
}
