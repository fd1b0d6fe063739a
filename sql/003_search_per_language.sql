-- Full-text search: one vector in the entry's own text-search configuration (title weight A,
-- summary weight B) instead of 'simple' plus the language's. Queries parse the text with that same
-- configuration, so matching is exact (negations included), and each stored row costs one text
-- parse per field instead of two: the search column was most of the database's insert cost.
drop index entries_search;
alter table entries drop column search;
alter table entries add column search tsvector generated always as (
  setweight(to_tsvector(tributary_ts_config(language), coalesce(title, '')), 'A') ||
  setweight(to_tsvector(tributary_ts_config(language), left(coalesce(summary, ''), 20000)), 'B')
) stored;
create index entries_search on entries using gin (search);

-- Region filters compare lower(region): an expression index gives the planner its statistics, so
-- it walks entries newest-first for common regions instead of sorting all of a region's entries.
drop index feeds_region;
create index feeds_region_lower on feeds (lower(region));
