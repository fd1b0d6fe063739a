import type { Queryable } from './db.ts';

export interface ReplicaLag {
  /** How long what the replica serves has been out of date: 0 when it has the primary's entries. */
  seconds: number;
  /** WAL the primary has written that the replica has not replayed yet (any database of the cluster). */
  bytes: number;
}

/**
 * How far a streaming replica trails its primary, as readers see it. The replica is current when it
 * has replayed the primary's WAL position, or when it serves the primary's entries version: WAL of
 * other databases, or a long transaction not committed yet, moves the primary's position without
 * changing what Tributary serves, and the usual `now() - pg_last_xact_replay_timestamp()` alone
 * reads that as lag. Otherwise the replica is as late as its last replayed commit (right after a
 * change that follows a long quiet spell this overstates the lag until the change is replayed,
 * milliseconds on a healthy replica). Not a standby at all (a second URL of the primary, a logical
 * copy): 0.
 */
export async function replicaLag(primary: Queryable, replica: Queryable): Promise<ReplicaLag> {
  const p = await primary.query<{ lsn: string; seq: number }>(
    'select pg_current_wal_lsn()::text as lsn, (select seq from entries_version) as seq',
  );
  const { lsn, seq } = p.rows[0]!;
  const r = await replica.query<{ standby: boolean; bytes: number | null; seq: number; seconds: number | null }>(
    `select pg_is_in_recovery() as standby,
            pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::float8 as bytes,
            (select seq from entries_version) as seq,
            extract(epoch from now() - pg_last_xact_replay_timestamp())::float8 as seconds`,
    [lsn],
  );
  const row = r.rows[0]!;
  if (!row.standby || row.bytes === null || row.bytes <= 0) return { seconds: 0, bytes: 0 };
  if (Number(row.seq) === Number(seq)) return { seconds: 0, bytes: row.bytes };
  // No commit replayed since the replica started: its lag in time is not known yet.
  return { seconds: Math.max(0, row.seconds ?? 0), bytes: row.bytes };
}
