import { z } from 'zod';
import { validate as validateCron } from 'node-cron';
import { parseDurationSeconds } from './duration.ts';
import { isValidCidr } from '../fetch/address-guard.ts';

const bool = (def: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got "${v}"` });
      return z.NEVER;
    });

const int = (def: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

/** A duration in seconds: "300", "5m", "6h", "1d". */
const duration = (def: string, minSeconds: number, maxSeconds: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      const s = parseDurationSeconds(v === undefined || v === '' ? def : v);
      if (s === null || s < minSeconds || s > maxSeconds) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 5m, 6h from ${minSeconds}s to ${maxSeconds}s, got "${v}"` });
        return z.NEVER;
      }
      return s;
    });

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

/** "true"/"false", or a comma-separated CIDR allow list ("10.0.0.0/8,127.0.0.1/32"). */
const privateNetworks = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx): { all: boolean; cidrs: string[] } => {
    if (v === undefined || v === '' || /^(0|false|no|off)$/i.test(v)) return { all: false, cidrs: [] };
    if (/^(1|true|yes|on)$/i.test(v)) return { all: true, cidrs: [] };
    const cidrs = v.split(',').map((c) => c.trim()).filter(Boolean);
    const invalid = cidrs.filter((c) => !isValidCidr(c));
    if (invalid.length > 0) {
      // A range the guard cannot read would silently allow nothing: refuse to start instead.
      ctx.addIssue({
        code: 'custom',
        message: `expected true, false or a comma-separated list of CIDR ranges like 10.0.0.0/8 or fd00::/8; not a valid CIDR range: ${invalid.map((c) => `"${c}"`).join(', ')}`,
      });
      return z.NEVER;
    }
    return { all: false, cidrs };
  });

/** Express's `trust proxy`: true/false, a hop count, or addresses, CIDRs and loopback/linklocal/uniquelocal. */
const trustProxy = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx): boolean | number | string[] => {
    if (v === undefined || v === '' || /^(0|false|no|off)$/i.test(v)) return false;
    if (/^(true|yes|on)$/i.test(v)) return true;
    if (/^\d{1,2}$/.test(v)) return Number(v);
    const list = v.split(',').map((x) => x.trim()).filter(Boolean);
    for (const x of list) {
      if (!/^(loopback|linklocal|uniquelocal|[0-9a-f:.]+(\/\d{1,3})?)$/i.test(x)) {
        ctx.addIssue({ code: 'custom', message: `expected true, false, a hop count or a list of proxy addresses/CIDRs, got "${x}"` });
        return z.NEVER;
      }
    }
    return list;
  });

const schema = z.object({
  DATABASE_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'expected a postgres:// URL'),
  // A direct, non-pooled PostgreSQL URL for session features: the migration lock and LISTEN.
  DATABASE_DIRECT_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'expected a postgres:// URL'),
  // A read replica for the read-only routes (merged feeds, /api/items, /api/stories, reader pages).
  DATABASE_READ_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), 'expected a postgres:// URL'),
  READ_REPLICA_MAX_LAG: duration('30s', 1, 86400),
  DATA_DIR: z.string().trim().optional().transform((v) => v || './data'),
  PORT: int(3000, 0, 65535),
  HOST: z.string().trim().optional().transform((v) => v || '0.0.0.0'),
  PUBLIC_URL: optionalText.refine((v) => v === undefined || /^https?:\/\//.test(v), 'expected an http(s) URL'),
  TRUST_PROXY: trustProxy,
  ADMIN_TOKEN: optionalText,
  DEMO: bool(true),
  FEEDS: optionalText,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  POLL_SCHEDULE: z
    .string()
    .trim()
    .optional()
    .transform((v) => v || '*/30 * * * * *')
    .refine((v) => validateCron(v), 'expected a cron expression (node-cron syntax, optional seconds field)'),
  POLL_BATCH_SIZE: int(50, 1, 1000),
  LEASE_SECONDS: int(120, 5, 3600),
  POLL_MIN_INTERVAL: duration('5m', 1, 7 * 86400),
  POLL_MAX_INTERVAL: duration('6h', 1, 30 * 86400),
  POLL_GIVE_UP_DAYS: int(30, 1, 3650),
  RETENTION_DAYS: int(90, 1, 36500),
  FETCH_CONCURRENCY: int(16, 1, 1000),
  FETCH_PER_HOST: int(2, 1, 100),
  FETCH_HOST_SPACING_MS: int(200, 0, 60000),
  FETCH_TIMEOUT_MS: int(20000, 100, 600000),
  FETCH_HEADERS_TIMEOUT_MS: int(10000, 100, 600000),
  FETCH_MAX_BYTES: int(10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  FETCH_MAX_REDIRECTS: int(5, 0, 20),
  ALLOW_PRIVATE_NETWORKS: privateNetworks,
  RATE_LIMIT_PER_MINUTE: int(600, 0, 1000000),
  DB_POOL_SIZE: int(10, 1, 200),
  // How long every command keeps retrying an unreachable DATABASE_URL at start (compose start order).
  DB_CONNECT_TIMEOUT: duration('30s', 0, 3600),
  PARSE_THREADS: int(1, 0, 64),
  STORY_WINDOW: duration('72h', 60, 30 * 86400),
  // Open /api/stream connections per API process, and per client address (req.ip, so TRUST_PROXY applies).
  STREAM_MAX_CLIENTS: int(1000, 1, 1000000),
  STREAM_MAX_PER_IP: int(20, 1, 1000000),
  // WebSub (src/websub): the hub our merged feeds name and ping, how often a topic may be pinged,
  // and the lease we ask publishers' hubs for.
  WEBSUB_HUB: optionalText.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), 'expected an http(s) URL'),
  WEBSUB_PING_INTERVAL: duration('10s', 1, 86400),
  WEBSUB_LEASE: duration('7d', 60, 365 * 86400),
});

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {}

/** Reads and validates the environment; every problem is named with its variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if ((c.DATABASE_DIRECT_URL || c.DATABASE_READ_URL) && !c.DATABASE_URL) {
    const which = c.DATABASE_DIRECT_URL ? 'DATABASE_DIRECT_URL' : 'DATABASE_READ_URL';
    throw new ConfigError(`invalid configuration:\n  ${which}: needs DATABASE_URL (the embedded database has no pooler or replicas)`);
  }
  if (c.POLL_MIN_INTERVAL > c.POLL_MAX_INTERVAL) {
    throw new ConfigError('invalid configuration:\n  POLL_MIN_INTERVAL: must not exceed POLL_MAX_INTERVAL');
  }
  if (c.WEBSUB_HUB && !c.PUBLIC_URL) {
    // The topics a hub is pinged with are our feeds' public URLs; without one they cannot be named.
    throw new ConfigError('invalid configuration:\n  WEBSUB_HUB: needs PUBLIC_URL (the topic URLs the hub is told about)');
  }
  return c;
}
