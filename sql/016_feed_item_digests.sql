-- Per feed, the items of its last stored document as raw digests with their item keys
-- (src/dedupe/item-digests.ts): the next changed document normalises only the items it did not
-- have. Its own table, not a feeds column: every poll (a 304 included) rewrites the feed's row,
-- and a row version would copy ~1.3 KB of digests each time.
create table feed_item_digests (
  feed_id integer primary key references feeds (id) on delete cascade,
  digests text not null
);

-- A record says "these items are stored as they are". When a source goes (retention, a deleted
-- entry or feed), the feed's record goes too: its next document is normalised whole, so a deleted
-- item it still lists meets its tombstone again (tombstones are marked listed only for items that
-- were looked up) instead of being skipped as unchanged.
create function forget_item_digests() returns trigger language plpgsql as $$
begin
  delete from feed_item_digests d where d.feed_id in (select distinct g.feed_id from gone g);
  return null;
end
$$;

create trigger entry_sources_forget_item_digests
after delete on entry_sources
referencing old table as gone
for each statement execute function forget_item_digests();
