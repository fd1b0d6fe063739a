import type { ServerResponse } from 'node:http';

/**
 * A route's whole answer as data: status, the route's own headers, body. Hot routes produce one of
 * these so the same code answers through Express and through the front door (front-door.ts),
 * and both write it with one writeHead/end instead of Express's res.send (which would hash the
 * body for an ETag and check freshness again, work these routes have already done).
 */
export interface Answer {
  status: number;
  headers: [string, string | number][];
  body?: Buffer;
}

/** Writes an answer on a response that may already carry headers (Express middleware's). */
export function sendAnswer(res: ServerResponse, a: Answer): void {
  for (const [name, value] of a.headers) res.setHeader(name, value);
  res.statusCode = a.status;
  res.end(a.body);
}

/** The headers of a 200 with a body of this type. */
export function bodyHeaders(type: string, body: Buffer): [string, string | number][] {
  return [
    ['Content-Type', type],
    ['Content-Length', body.length],
  ];
}
