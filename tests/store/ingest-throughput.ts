/**
 * Micro-benchmark, not a test: ingest of 50 new items into each of 100 feeds, then a re-poll of all
 * of them unchanged. Run on the server back end:
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx tests/store/ingest-throughput.ts
 */
import { createTestDb } from '../helpers/db.ts';
import { ingestItems } from '../../src/store/ingest.ts';
import { createFeed, newsItem, NOW } from './fixtures.ts';

const FEEDS = 100;
const ITEMS = 50;
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 1);

const t = await createTestDb();
try {
  const feeds: number[] = [];
  for (let f = 0; f < FEEDS; f++) feeds.push(await createFeed(t.db, `https://f${f}.example/feed`, 'en'));
  const docs = feeds.map((_, f) =>
    Array.from({ length: ITEMS }, (_, i) =>
      newsItem(f * ITEMS + i, { content_html: `<p>${'Body text of a typical news story. '.repeat(40)}</p>` }),
    ),
  );

  const pass = async (label: string) => {
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      for (let f = next++; f < FEEDS; f = next++) {
        await t.db.transaction((tx) => ingestItems(tx, { id: feeds[f]!, language: 'en' }, docs[f]!, { now: NOW, retentionDays: 3650 }));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const ms = performance.now() - started;
    console.log(`${label}: ${FEEDS * ITEMS} items in ${ms.toFixed(0)} ms = ${Math.round((FEEDS * ITEMS * 1000) / ms)} items/s, ${(ms / FEEDS).toFixed(1)} ms per feed poll (concurrency ${CONCURRENCY})`);
  };
  await pass('new items');
  await pass('unchanged re-poll');
} finally {
  await t.drop();
}
