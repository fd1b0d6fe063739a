import { readFile } from 'node:fs/promises';
import type { Config } from '../config/env.ts';
import { decodeFeedBytes } from '../fetch/charset.ts';
import { parseOpml } from '../opml/parse-opml.ts';
import { insertFeeds } from '../store/feeds.ts';
import { subscribeMany, type SubscriptionRequest } from '../subscribe/subscribe.ts';
import { startDemoServer, type DemoServer } from '../demo/demo-server.ts';
import type { Runtime } from '../runtime.ts';

export interface FeedSources {
  /** The configuration to run with (the demo allows its own loopback address). */
  config: Config;
  importInto(rt: Runtime): Promise<void>;
  close(): Promise<void>;
}

/**
 * Feeds that come with the process rather than through the API: FEEDS (URLs or an OPML file), or
 * the bundled demo set served from a local fixture server, so a fresh clone works offline.
 */
export async function setUpFeedSources(config: Config, opts: { demo: boolean }): Promise<FeedSources> {
  if (config.FEEDS) {
    const list = await readFeedList(config.FEEDS);
    return {
      config,
      async importInto(rt) {
        const { subscriptions } = await subscribeMany({ db: rt.db, fetcher: rt.fetcher, allow: config.ALLOW_PRIVATE_NETWORKS }, list);
        let added = 0;
        for (const s of subscriptions) {
          if (!s.ok) {
            rt.logger.warn({ url: s.url }, `FEEDS: skipped: ${s.reason}`);
            continue;
          }
          added += s.feeds.filter((f) => f.status === 'added').length;
          if (s.page) rt.logger.info({ url: s.url, feeds: s.feeds.map((f) => f.url) }, 'FEEDS: subscribed the feed the page advertises');
        }
        rt.logger.info({ added, listed: list.length }, 'FEEDS imported');
      },
      close: async () => undefined,
    };
  }
  if (!opts.demo || !config.DEMO) return { config, importInto: async () => undefined, close: async () => undefined };

  const demo: DemoServer = await startDemoServer({});
  const demoHost = new URL(demo.baseUrl).hostname;
  const withDemo: Config = {
    ...config,
    ALLOW_PRIVATE_NETWORKS: config.ALLOW_PRIVATE_NETWORKS.all
      ? config.ALLOW_PRIVATE_NETWORKS
      : { all: false, cidrs: [...config.ALLOW_PRIVATE_NETWORKS.cidrs, `${demoHost}/32`] },
  };
  return {
    config: withDemo,
    async importInto(rt) {
      await moveDemoFeeds(rt, demo);
      const added = await insertFeeds(
        rt.db,
        demo.feeds.map((f) => ({ url: f.url, title: f.title, region: f.region, language: f.language })),
      );
      rt.logger.info(
        { demoServer: demo.baseUrl, feeds: demo.feeds.length, added: added.length },
        'demo feed set served locally and subscribed (DEMO=false or FEEDS=... turns it off)',
      );
    },
    close: () => demo.close(),
  };
}

/** The demo server gets a new port on every start: move the demo feeds there instead of adding new ones. */
async function moveDemoFeeds(rt: Runtime, demo: DemoServer): Promise<void> {
  const escapeRegex = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await rt.db.query(
    `update feeds as f set url = d.url, host = $3, next_poll_at = now(), etag = null, last_modified = null
     from unnest($1::text[], $2::text[]) as d(pattern, url)
     where f.url ~ d.pattern and f.url <> d.url`,
    [
      demo.feeds.map((f) => `^http://127\\.0\\.0\\.1:[0-9]+${escapeRegex(new URL(f.url).pathname)}$`),
      demo.feeds.map((f) => f.url),
      new URL(demo.baseUrl).host,
    ],
  );
}

async function readFeedList(spec: string): Promise<SubscriptionRequest[]> {
  if (/\.(opml|xml)$/i.test(spec) && !/^https?:/i.test(spec)) {
    const text = decodeFeedBytes(await readFile(spec), null).text;
    return parseOpml(text).map((o) => ({ url: o.url, title: o.title, region: o.region }));
  }
  return spec
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((url) => ({ url }));
}
