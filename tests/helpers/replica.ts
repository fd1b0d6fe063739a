import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, waitFor } from './processes.ts';

const run = promisify(execFile);
export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface Replica {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url(database: string): string;
  query<R = Record<string, unknown>>(database: string, sql: string): Promise<R[]>;
  stop(): Promise<void>;
}

/** Settings a hot standby must have at least as high as its primary's, or it refuses to start. */
const AT_LEAST_PRIMARY = ['max_connections', 'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction'];

async function query<R>(url: string, sql: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as R[];
  } finally {
    await c.end();
  }
}

/**
 * A streaming replica of the local server in a temporary directory, on a free port: a base backup
 * (`pg_basebackup -R -X stream`, a copy of the whole cluster) started with pg_ctl. PostgreSQL
 * refuses to run as root, so as root every step runs as the postgres user (runuser).
 */
export async function startReplica(primaryUrl: string): Promise<Replica> {
  const primary = new URL(primaryUrl);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-replica-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  }
  const as = (cmd: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args));
  const port = await freePort();
  const stop = async () => {
    await as(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await as(`${PG_BIN}/pg_basebackup`, [
      '-h', primary.hostname, '-p', primary.port || '5432', '-U', decodeURIComponent(primary.username || 'postgres'),
      '-D', data, '-R', '-X', 'stream', '-c', 'fast',
    ]);
    const settings = await query<{ name: string; setting: string }>(
      primaryUrl,
      `select name, setting from pg_settings where name in (${AT_LEAST_PRIMARY.map((n) => `'${n}'`).join(', ')})`,
    );
    // Debian keeps postgresql.conf and pg_hba.conf in /etc, so the copy has none: give it its own.
    writeFileSync(join(data, 'postgresql.conf'), [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      `hot_standby = on`,
      `shared_buffers = 32MB`,
      `fsync = off`,
      `ssl = off`,
      ...settings.map((s) => `${s.name} = ${s.setting}`),
      '',
    ].join('\n'));
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    if (asRoot) await run('chown', ['postgres:postgres', join(data, 'postgresql.conf'), join(data, 'pg_hba.conf')]);
    await as(`${PG_BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'replica.log'), '-w', '-t', '120', 'start']);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  await waitFor('the replica accepting connections', async () => (await query<{ r: boolean }>(url('postgres'), 'select pg_is_in_recovery() as r'))[0]?.r, 60_000);
  return { port, url, query: (database, sql) => query(url(database), sql), stop };
}
