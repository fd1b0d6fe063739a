-- When each entry last changed (took its current change_seq): the live stream resumes a client only
-- over the last 24 h of changes (issue 12), and no existing column says when a change happened
-- (updated_at is the publisher's date, first_seen_at never moves on an edit).
-- Existing rows take the time of this migration: a constant default adds the column without
-- rewriting the table, and the worst case is a resume of at most 1,000 changes that are older.
alter table entries add column changed_at timestamptz not null default now();
