import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { freePort, waitFor } from './processes.ts';

export const PGBOUNCER = '/usr/sbin/pgbouncer';
export const havePgBouncer = existsSync(PGBOUNCER);

export interface PgBouncer {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url(database: string): string;
  /** SHOW <what> on the admin console, as rows. */
  show(what: string): Promise<Record<string, unknown>[]>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Debian's PgBouncer on a free loopback port in front of the local server, transaction pooling, trust
 * auth, run in the foreground so the test owns the process. It refuses to run as root: as root it is
 * started with `-u postgres`, and its directory belongs to that user.
 */
export async function startPgBouncer(target: { host: string; port: number }, poolSize: number): Promise<PgBouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-pgbouncer-'));
  const port = await freePort();
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(join(dir, 'pgbouncer.ini'), `[databases]
* = host=${target.host} port=${target.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'userlist.txt')}
pool_mode = transaction
default_pool_size = ${poolSize}
max_client_conn = 500
admin_users = postgres
ignore_startup_parameters = extra_float_digits,options
logfile = ${join(dir, 'pgbouncer.log')}
`);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
  }
  const child: ChildProcess = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const log = () => out + (existsSync(join(dir, 'pgbouncer.log')) ? readFileSync(join(dir, 'pgbouncer.log'), 'utf8') : '');
  const show = async (what: string) => {
    const c = new pg.Client({ connectionString: url('pgbouncer') });
    await c.connect();
    try {
      // The admin console speaks the simple query protocol only.
      return (await c.query(`show ${what}`)).rows as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  };
  try {
    await waitFor('pgbouncer listening', async () => (await show('version')).length > 0, 15_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${log()}`);
  }
  return {
    port,
    url,
    show,
    log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
