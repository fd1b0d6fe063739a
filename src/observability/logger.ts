import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stderr, so stdout stays free for command output (`tributary parse` prints JSON there). */
export function createLogger(level: string = 'info'): Logger {
  return pino({ level, base: { app: 'tributary' } }, pino.destination({ fd: 2, sync: false }));
}

export const silentLogger: Logger = pino({ level: 'silent' });
