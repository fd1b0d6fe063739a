-- Story candidates are read as "the latest LATEST_PER_KEY bucket rows of a band key within the
-- window" (src/store/stories.ts), ordered by (at, entry_id) so ties are decided the same way in
-- SQL and in memory. With entry_id in the index, a backward index scan yields that order and the
-- LIMIT stops it after a few rows (and the scan can be index-only); with (band_key, at) alone the
-- planner sorted every row of the key in the window first (620 rows per key for look-alike
-- headlines: +430% ingest CPU in bench/stories-ingest.ts's "recurring" workload).
create index story_buckets_latest on story_buckets (band_key, at, entry_id);
drop index story_buckets_band;
