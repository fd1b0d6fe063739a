-- The merged feeds' version (their ETag) as a row instead of entries_change_seq's last_value.
-- A standby sees a sequence only as the primary WAL-logs it: up to 32 values ahead, and unchanged
-- by the next 32 nextval calls. A read replica's ETag would then stay put while its rows change
-- (stale 304s). A row is replicated exactly and becomes visible with its commit, so the version a
-- replica reports always describes what that replica serves.
create table entries_version (
  one boolean primary key default true check (one),
  seq bigint not null
);

insert into entries_version (seq)
select case when is_called then last_value else 0 end from entries_change_seq;
