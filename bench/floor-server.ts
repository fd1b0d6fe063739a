import { readFileSync } from 'node:fs';
import { createServer, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { emitResult } from './child.ts';

/**
 * The serving floor: a bare node:http server, alone in its process, answering each recorded path
 * with the bytes Tributary answered (status, headers, body), so the bench can measure what the
 * machine costs per request with no framework, middleware or database. A request carrying
 * If-None-Match gets the recorded conditional answer (304) when there is one.
 *
 * Usage: floor-server.ts <responses.json>; prints {"port": n}; on SIGTERM prints its CPU seconds.
 */
export interface RecordedResponse {
  /** Path and query, exactly as requested. */
  path: string;
  conditional: boolean;
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

const recorded = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RecordedResponse[];
const routes = new Map<string, { status: number; headers: OutgoingHttpHeaders; body: Buffer }>();
for (const r of recorded) {
  const body = Buffer.from(r.bodyBase64, 'base64');
  routes.set(`${r.conditional ? 'c' : 'u'} ${r.path}`, { status: r.status, headers: { ...r.headers, 'content-length': body.length }, body });
}

const server = createServer((req, res) => {
  const hit = (req.headers['if-none-match'] && routes.get(`c ${req.url}`)) || routes.get(`u ${req.url}`);
  if (!hit) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(hit.status, hit.headers);
  res.end(hit.status === 304 ? undefined : hit.body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => emitResult({ port: (server.address() as AddressInfo).port }));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  const ru = process.resourceUsage();
  emitResult({ cpuSeconds: (ru.userCPUTime + ru.systemCPUTime) / 1e6, peakRssMb: 0 });
  process.exit(0);
});
