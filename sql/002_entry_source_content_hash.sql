-- Change detection per source, not per entry: when two feeds carry one article with different
-- summaries, comparing each poll against the entry's hash (last written by the other feed) would
-- rewrite the entry and bump change_seq on every poll of either feed.
alter table entry_sources add column content_hash text;
