import type { Request } from 'express';
import type { Config } from '../config/env.ts';
import type { EntryFilter } from '../store/entry-queries.ts';

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** Origin our own links are built on: PUBLIC_URL when set, else the request's protocol and Host. */
export function publicBase(req: Request, config: Config): string {
  return baseFor(req.protocol, req.get('host'), config);
}

/** publicBase from its parts, for callers without an Express request (the front door). */
export function baseFor(protocol: string, host: string | undefined, config: Config): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL.replace(/\/+$/, '');
  // A Host header is client input: only a plain host[:port] is reflected into documents.
  return `${protocol}://${host && HOST.test(host) ? host : 'localhost'}`;
}

/** The query string for a filter, in a fixed order, so equal filters give equal URLs. */
export function filterQuery(filter: EntryFilter, extra: Record<string, string | number | undefined> = {}): string {
  const sp = new URLSearchParams();
  for (const id of filter.feedIds ?? []) sp.append('feed', String(id));
  if (filter.region) sp.set('region', filter.region);
  if (filter.q) sp.set('q', filter.q);
  if (filter.lang) sp.set('lang', filter.lang);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) sp.set(k, String(v));
  const s = sp.toString();
  return s ? `?${s}` : '';
}
