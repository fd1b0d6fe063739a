-- The live stream (/api/stream) reads "entries changed after sequence N": a range scan on
-- change_seq, newest changes only. Without it every notification would scan the whole table.
create index entries_by_change_seq on entries (change_seq);
