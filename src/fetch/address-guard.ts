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

/** Parses an address, unwrapping IPv4-mapped IPv6 (::ffff:127.0.0.1 is 127.0.0.1); null if not an IP. */
function parseAddress(ip: string): Parsed | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (!ipaddr.isValid(bare)) return null;
  try {
    return ipaddr.process(bare);
  } catch {
    return null;
  }
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

/** Public unicast addresses are always allowed; anything else only by `all` or a listed CIDR. */
export function isAllowedAddress(ip: string, allow: AddressAllowList): boolean {
  if (allow.all) return true;
  const addr = parseAddress(ip);
  if (!addr) return false;
  if (addr.range() === 'unicast') return true;
  return allow.cidrs.some((c) => inCidr(addr, c));
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

/** "address 127.0.0.1 is loopback; private networks are not allowed (set ALLOW_PRIVATE_NETWORKS)" */
export function refusalReason(ip: string): string {
  const addr = parseAddress(ip);
  const what = addr ? (RANGE_WORDS[addr.range()] ?? `in the special range "${addr.range()}"`) : 'not a valid IP address';
  return `address ${addr ? addr.toString() : ip} is ${what}; private networks are not allowed (set ALLOW_PRIVATE_NETWORKS)`;
}

export type FeedUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Validates a feed URL typed by a user (API, CLI, OPML import). Resolves the host and refuses if
 * any of its addresses is not allowed: a name that points partly inside the network is suspect.
 */
export async function checkFeedUrl(
  input: string,
  allow: AddressAllowList,
  lookup: LookupAll = defaultLookup,
): Promise<FeedUrlCheck> {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return { ok: false, reason: `"${truncate(input)}" is not a valid URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `only http and https feeds are supported, not ${url.protocol}` };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'feed URLs with a user name or password are not accepted' };
  }
  // The WHATWG parser already turned 2130706433 and 0x7f.1 into 127.0.0.1.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') return { ok: false, reason: 'the URL has no host' };

  if (net.isIP(host) !== 0) {
    return isAllowedAddress(host, allow) ? { ok: true, url: url.href } : { ok: false, reason: refusalReason(host) };
  }
  if (allow.all) return { ok: true, url: url.href };

  let addresses: LookupAddress[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: `host ${host} could not be resolved${code ? ` (${code})` : ''}` };
  }
  if (addresses.length === 0) return { ok: false, reason: `host ${host} has no addresses` };
  const refused = addresses.find((a) => !isAllowedAddress(a.address, allow));
  if (refused) return { ok: false, reason: `${host} resolves to ${refusalReason(refused.address)}` };
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
            ? new BlockedAddressError(`${hostname} resolves to ${refusalReason(refused.address)}`)
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
    const host = options.hostname;
    if (net.isIP(host) !== 0 && !isAllowedAddress(host, allow)) {
      callback(new BlockedAddressError(refusalReason(host)), null);
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
        callback(new BlockedAddressError(remote ? refusalReason(remote) : `${host}: connected peer has no address`), null);
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
