/**
 * Politeness per host, inside one process: at most `perHost` requests in flight to a host, at least
 * `spacingMs` between the starts of two requests to it, and none while it is paused (a 429/503
 * Retry-After pauses the whole host; the pause is also written to the database so other worker
 * processes honour it).
 */
export interface HostGateOptions {
  perHost: number;
  spacingMs: number;
  now?: () => number;
}

interface HostState {
  inFlight: number;
  lastStart: number;
  pausedUntil: number;
}

export class HostGate {
  private readonly hosts = new Map<string, HostState>();
  private readonly now: () => number;

  constructor(private readonly opts: HostGateOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** 0 when a request to `host` may start now; else milliseconds until it might. */
  waitFor(host: string): number {
    const s = this.hosts.get(host);
    if (!s) return 0;
    const t = this.now();
    if (s.pausedUntil > t) return s.pausedUntil - t;
    if (s.inFlight >= this.opts.perHost) return Number.POSITIVE_INFINITY;
    const spacing = s.lastStart + this.opts.spacingMs - t;
    return spacing > 0 ? spacing : 0;
  }

  pausedUntil(host: string): number {
    return this.hosts.get(host)?.pausedUntil ?? 0;
  }

  start(host: string): void {
    const s = this.state(host);
    s.inFlight++;
    s.lastStart = this.now();
  }

  finish(host: string): void {
    const s = this.state(host);
    s.inFlight = Math.max(0, s.inFlight - 1);
    if (s.inFlight === 0 && s.pausedUntil <= this.now() && s.lastStart + this.opts.spacingMs <= this.now()) {
      this.hosts.delete(host);
    }
  }

  pause(host: string, untilMs: number): void {
    const s = this.state(host);
    s.pausedUntil = Math.max(s.pausedUntil, untilMs);
  }

  private state(host: string): HostState {
    let s = this.hosts.get(host);
    if (!s) {
      s = { inFlight: 0, lastStart: 0, pausedUntil: 0 };
      this.hosts.set(host, s);
    }
    return s;
  }
}
