/** What the fetcher reports for one feed URL; it never throws for anything the remote server does. */
export type FetchErrorKind =
  | 'timeout' // total time or headers timeout exceeded
  | 'too-large' // Content-Length or decoded bytes over the cap
  | 'http' // a non-2xx, non-304 status
  | 'network' // DNS, connection refused/reset, TLS
  | 'blocked' // SSRF guard: address not allowed, or a non-http(s) URL
  | 'redirect' // too many redirects, a loop, or a redirect without Location
  | 'decode'; // body could not be decoded in the charset it declares

export interface RedirectHop {
  from: string;
  to: string;
  status: number;
}

interface FetchCommon {
  /** The URL requested first. */
  url: string;
  /** The URL that answered last (after redirects). */
  finalUrl: string;
  redirects: RedirectHop[];
  /** Set when every hop was a 301/308: the feed has moved for good. Never set for 302/303/307. */
  permanentRedirectTo: string | null;
  /** Milliseconds from start to end of body. */
  durationMs: number;
}

export interface FetchOk extends FetchCommon {
  kind: 'ok';
  status: number;
  etag: string | null;
  lastModified: string | null;
  contentType: string | null;
  /** Decoded text (charset: BOM, then HTTP header, then XML prolog, then UTF-8). */
  text: string;
  /** Decoded (decompressed) body size in bytes. */
  bytes: number;
  /** Seconds the server asks us to wait before polling again (Cache-Control max-age / Expires), or null. */
  freshForSeconds: number | null;
}

export interface FetchNotModified extends FetchCommon {
  kind: 'not-modified';
  status: 304;
  etag: string | null;
  lastModified: string | null;
  freshForSeconds: number | null;
}

export interface FetchFailed extends FetchCommon {
  kind: 'error';
  errorKind: FetchErrorKind;
  /** HTTP status when one was received. */
  status: number | null;
  message: string;
  /** From a Retry-After header (429/503), in seconds, or null. */
  retryAfterSeconds: number | null;
}

export type FetchOutcome = FetchOk | FetchNotModified | FetchFailed;

export interface FetchRequest {
  url: string;
  etag?: string | null;
  lastModified?: string | null;
}

export interface FetchLimits {
  timeoutMs: number;
  headersTimeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  /** true: any address; otherwise only public unicast plus these CIDR ranges. */
  allowPrivate: { all: boolean; cidrs: string[] };
  userAgent: string;
}
