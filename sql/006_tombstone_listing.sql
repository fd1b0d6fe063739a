-- Tombstones are pruned once they no longer protect anything (src/store/tombstones.ts):
-- when the feed stops listing the item, or RETENTION_DAYS after the feed last listed it.
-- last_listed_at: the last poll whose document still listed the item (at first, the deletion).
-- unlisted_since: set by the first poll whose document no longer lists it; null while listed.
alter table tombstones add column last_listed_at timestamptz;
update tombstones set last_listed_at = deleted_at;
alter table tombstones alter column last_listed_at set not null;
alter table tombstones alter column last_listed_at set default now();
alter table tombstones add column unlisted_since timestamptz;
