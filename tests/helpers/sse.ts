import http from 'node:http';

export interface SseEvent {
  /** The event's `id:` (the last one seen, as EventSource keeps it). */
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Body text when the answer is not a stream (a problem). */
  body(): Promise<string>;
  events: SseEvent[];
  comments: string[];
  /** As EventSource tracks it: set by every `id:` line, even without an event. */
  lastEventId: string | undefined;
  /** Resolves when the server ends or cuts the response. */
  ended: Promise<void>;
  /** Waits (bounded, a guard against hanging, not a timing check) until `pred` holds for the events so far. */
  until(what: string, pred: (events: SseEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops reading (the server's writes back up). */
  pause(): void;
  close(): void;
}

/** A Server-Sent Events client over node:http that records everything, parsed as EventSource parses it. */
export function openSse(url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    // A fresh connection each (no agent): streams never share a socket, and localAddress picks the client's address.
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false, localAddress }, (res) => {
      res.setEncoding('utf8');
      const waiters = new Set<() => void>();
      const check = () => {
        for (const w of [...waiters]) w();
      };
      let buffer = '';
      let data: string[] = [];
      let event = '';
      let sawField = false;
      let endedFlag = false;
      const s: SseStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        lastEventId: undefined,
        ended: new Promise((r) => {
          const done = () => {
            endedFlag = true;
            check();
            r();
          };
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
        }),
        body: () =>
          new Promise((r) => {
            let text = buffer;
            res.on('data', (d: string) => (text += d));
            res.on('end', () => r(text));
          }),
        until(what, pred, timeoutMs = 30_000) {
          return new Promise<void>((ok, fail) => {
            const timer = setTimeout(() => {
              waiters.delete(test);
              fail(new Error(`timed out waiting for ${what}; got ${s.events.length} events: ${s.events.map((e) => `${e.event}#${e.id}`).join(' ')}`));
            }, timeoutMs);
            const test = () => {
              if (pred(s.events)) {
                clearTimeout(timer);
                waiters.delete(test);
                ok();
              } else if (endedFlag) {
                clearTimeout(timer);
                waiters.delete(test);
                fail(new Error(`stream ended while waiting for ${what}`));
              }
            };
            waiters.add(test);
            test();
          });
        },
        pause: () => res.pause(),
        close: () => req.destroy(),
      };
      if (s.status !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve(s);
        return;
      }
      res.on('data', (chunk: string) => {
        const before = s.events.length;
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (sawField && data.length > 0) s.events.push({ id: s.lastEventId, event: event || 'message', data: data.join('\n') });
            data = [];
            event = '';
            sawField = false;
            continue;
          }
          if (line.startsWith(':')) {
            s.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          sawField = true;
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id') s.lastEventId = value;
        }
        if (s.events.length > before) check();
      });
      resolve(s);
    });
    req.on('error', reject);
  });
}
