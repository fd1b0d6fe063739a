import { readFile } from 'node:fs/promises';
import type { Config } from '../config/env.ts';
import { checkFeedUrl } from '../fetch/address-guard.ts';
import { decodeFeedBytes } from '../fetch/charset.ts';
import { parseOpml } from '../opml/parse-opml.ts';
import { insertFeeds, type NewFeed } from '../store/feeds.ts';
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
        const accepted: NewFeed[] = [];
        for (const f of list) {
          const check = await checkFeedUrl(f.url, config.ALLOW_PRIVATE_NETWORKS);
          if (check.ok) accepted.push({ ...f, url: check.url });
          else rt.logger.warn({ url: f.url }, `FEEDS: skipped: ${check.reason}`);
        }
        const added = await insertFeeds(rt.db, accepted);
        rt.logger.info({ added: added.length, listed: list.length }, 'FEEDS imported');
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

async function readFeedList(spec: string): Promise<NewFeed[]> {
  if (/\.(opml|xml)$/i.test(spec) && !/^https?:/i.test(spec)) {
    const text = decodeFeedBytes(await readFile(spec), null).text;
    return parseOpml(text).map((o) => ({ url: o.url, title: o.title, region: o.region }));
  }
  return spec
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((url) => ({ url }));
}
