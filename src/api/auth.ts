/**
 * Bearer-token guard for the API's writes. Reads stay public; a deployment without ADMIN_TOKEN
 * is read-only rather than open, so forgetting the variable never exposes feed management.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Config } from '../config/env.ts';
import { HttpProblem } from './problem.ts';

/** The token of an `Authorization: Bearer <token>` header, or null. Any characters are allowed in it. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const value = header.trim();
  const space = value.search(/[ \t]/);
  if (space < 0 || value.slice(0, space).toLowerCase() !== 'bearer') return null;
  const token = value.slice(space + 1).trim();
  return token === '' ? null : token;
}

export function requireAdmin(config: Pick<Config, 'ADMIN_TOKEN'>): RequestHandler {
  // Digests are computed once; comparing digests makes the comparison constant-time and hides the length.
  const expected = config.ADMIN_TOKEN === undefined ? null : sha256(config.ADMIN_TOKEN);
  return (req, res, next) => {
    if (expected === null) {
      next(new HttpProblem(403, 'Forbidden', 'writes are disabled: set ADMIN_TOKEN'));
      return;
    }
    const token = bearerToken(req.get('authorization'));
    if (token === null) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="tributary"');
      next(new HttpProblem(401, 'Unauthorized', 'this request needs an Authorization: Bearer <ADMIN_TOKEN> header'));
      return;
    }
    if (!timingSafeEqual(sha256(token), expected)) {
      next(new HttpProblem(403, 'Forbidden', 'the bearer token is not valid'));
      return;
    }
    next();
  };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
