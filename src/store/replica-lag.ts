import type { Queryable } from './db.ts';

export interface ReplicaLag {
  /** How far behind in time: 0 when the replica has replayed everything the primary had written. */
  seconds: number;
  /** WAL the primary has written that the replica has not replayed yet. */
  bytes: number;
}

/**
 * How far a streaming replica trails its primary. The primary's WAL position is read first, so a
 * replica that has replayed up to it is caught up (0 s), however long the primary sat idle; a
 * replica behind it is as late as its last replayed commit. Not a standby at all (a second URL
 * for the primary, a logically replicated copy): 0.
 */
export async function replicaLag(primary: Queryable, replica: Queryable): Promise<ReplicaLag> {
  const p = await primary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  const lsn = p.rows[0]!.lsn;
  const r = await replica.query<{ standby: boolean; bytes: number | null; seconds: number | null }>(
    `select pg_is_in_recovery() as standby,
            pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 as bytes,
            extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as seconds`,
    [lsn],
  );
  const row = r.rows[0]!;
  if (!row.standby || row.bytes === null || row.bytes <= 0) return { seconds: 0, bytes: 0 };
  // No commit replayed since the replica started: its lag in time is not known yet.
  return { seconds: Math.max(0, row.seconds ?? 0), bytes: row.bytes };
}
