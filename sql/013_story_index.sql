-- Story candidates come from an in-process index of the story window (src/stories/window-index.ts),
-- kept in step with this table by each process (src/store/story-index.ts); story_buckets is gone.
--
-- seq orders a language's members in commit order: every insert of language L's members happens
-- under L's transaction advisory lock (lockStoryLanguages), held to commit, so a process holding
-- the lock sees every row of L committed and reads "seq > what it read last" to learn what other
-- processes added. The sequence is not owned by the table, so `truncate … restart identity` does
-- not reset it (a reset would make new rows look already read).
create sequence story_members_seq;
-- Existing rows take values in no particular order: all of them are committed, which is all that counts.
alter table story_members add column seq bigint not null default nextval('story_members_seq');
create index story_members_language_seq on story_members (language, seq);
-- Loading the window of a language (a time interval) when the index first needs it.
create index story_members_language_at on story_members (language, at);

-- A truncate empties story_members without any seq to read (and with `restart identity` entry ids
-- are reused): it bumps this sequence, which the index's sync statement reads, so a process drops
-- its index of the database. A sequence, not a row, so no truncate waits on a row lock.
create sequence story_members_truncations;
create function story_members_truncated() returns trigger language plpgsql as $$
begin
  perform nextval('story_members_truncations');
  return null;
end $$;
create trigger story_members_truncated after truncate on story_members
  for each statement execute function story_members_truncated();

-- Candidates were one row per entry and band here, with a b-tree on (band_key, at, entry_id): 8 rows
-- and 8 index entries written per entry, 16 index scans read per entry. Existing entries stay
-- findable: the index loads members by (language, at) and computes band keys from their features.
drop table story_buckets;
