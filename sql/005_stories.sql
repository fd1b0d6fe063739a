-- Stories: one news event reported by several outlets, each under its own URL (issue 11).
-- Clustering happens at ingest (src/stories, src/store/stories*.ts); these tables hold its state.

-- A story's id is the id of its first entry. When a later entry bridges two stories, the younger
-- one is merged into the older: merged_into redirects its id (always to a surviving story).
create table stories (
  id          bigint primary key,
  merged_into bigint,
  -- Earliest and latest sort time of its entries: the story list is ordered by last activity.
  first_at    timestamptz not null,
  last_at     timestamptz not null
);
create index stories_activity on stories (last_at desc, id desc) where merged_into is null;
create index stories_redirects on stories (merged_into) where merged_into is not null;

-- Which story each entry belongs to, with what later entries are compared against. Membership
-- lives here, not in an entries column, so assigning a story never rewrites an entry row (an update
-- of a just-inserted entry would re-index its full-text vector: the main insert cost).
create table story_members (
  entry_id  bigint primary key references entries (id) on delete cascade,
  story_id  bigint not null,
  -- Primary language subtag ('en', 'ar', …) or 'und': stories never mix languages.
  language  text not null,
  at        timestamptz not null,
  -- Folded headline and lead words, space-separated, each prefixed with a flags digit
  -- (name/number, in headline).
  features  text not null
);
create index story_members_story on story_members (story_id, at, entry_id);

-- MinHash LSH band buckets (src/stories/minhash.ts): one row per entry and band. The b-tree on
-- (band_key, at) answers "entries sharing this band within the window" with one index range scan
-- per probed key, on the server and in PGlite alike (no extension). A GIN index over an array of
-- band keys was tried: the planner cannot estimate `&&` against a long array and chose a
-- sequential scan (48 s at 20,000 entries).
-- No foreign key: its check (and the index a cascade needs) per bucket row cost more than the row.
-- Look-ups join story_members, which does cascade, so a deleted entry's buckets are never used;
-- retention deletes buckets by the same time cut-off as the entries (at = the entry's sort_at).
create table story_buckets (
  band_key bigint not null,
  at       timestamptz not null,
  entry_id bigint not null
);
create index story_buckets_band on story_buckets (band_key, at);

-- Entries stored before stories existed: each is a story of its own (they have no features, so
-- new entries are never matched with them).
insert into stories (id, first_at, last_at) select id, sort_at, sort_at from entries;
insert into story_members (entry_id, story_id, language, at, features)
select id, id, coalesce(nullif(lower(split_part(replace(language, '_', '-'), '-', 1)), ''), 'und'), sort_at, ''
from entries;
