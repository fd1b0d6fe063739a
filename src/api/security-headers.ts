import type { Request, RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from '../config/env.ts';

const directives = {
  defaultSrc: ["'self'"],
  // The reader pages have no inline script or style: their CSS is /assets/reader.css, their one
  // script /assets/live.js (it reads /api/stream: connect-src falls back to default-src 'self').
  styleSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // Article images (item page) come from publishers; the Referrer-Policy keeps our URLs from them.
  imgSrc: ["'self'", 'https:', 'http:'],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
};

/** helmet's headers for a page that arrived over HTTPS, or over plain HTTP. */
function helmetFor(https: boolean): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      // On plain HTTP, `upgrade-insecure-requests` sends the stylesheet and the search form to an
      // https:// origin that does not exist (a reader opened as http://<lan-ip>:3000/ breaks).
      directives: { ...directives, upgradeInsecureRequests: https ? [] : null },
    },
    // HSTS and COOP are only honoured over HTTPS; on plain HTTP Chromium logs an error for COOP.
    strictTransportSecurity: https,
    crossOriginOpenerPolicy: https,
    // Feeds and the API are read by other origins (feed readers on the web).
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  }) as RequestHandler;
}

/**
 * Security headers. HTTPS-only ones (HSTS, `upgrade-insecure-requests`) are sent when PUBLIC_URL is
 * https, or when this request came over TLS: `req.secure`, which honours X-Forwarded-Proto only from
 * proxies trusted by TRUST_PROXY.
 */
export function securityHeaders(config: Pick<Config, 'PUBLIC_URL'>): RequestHandler {
  const secure = helmetFor(true);
  if (config.PUBLIC_URL?.startsWith('https://')) return secure;
  const plain = helmetFor(false);
  return (req: Request, res, next) => (req.secure ? secure : plain)(req, res, next);
}
