import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, backendName, type TestDb } from '../helpers/db.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { loadConfig } from '../../src/config/env.ts';
import { setUpFeedSources } from '../../src/cli/feed-sources.ts';

describe(`FEEDS at start subscribes through the same module (${backendName})`, () => {
  let t: TestDb;
  let site: FaultServer;

  beforeAll(async () => {
    t = await createTestDb();
    site = await startFaultServer();
  });
  afterAll(async () => {
    await site?.close();
    await t?.drop();
  });

  it('follows a page to its feed, refuses what the API refuses, and adds an offline host', async () => {
    const env = {
      ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32',
      // /page.html advertises /real.xml; the metadata service in IPv4-compatible form is refused.
      FEEDS: [site.url('/page.html'), site.url('/atom.xml'), 'http://[::a9fe:a9fe]/latest', 'https://offline.invalid/rss', site.url('/atom.xml')].join(','),
    };
    const config = loadConfig(env);
    const rt = await testRuntime(t.db, env);
    const sources = await setUpFeedSources(config, { demo: false });
    try {
      await sources.importInto(rt);
      await sources.importInto(rt); // a restart adds nothing twice
    } finally {
      await sources.close();
      await rt.close();
    }
    const feeds = await t.db.query<{ url: string }>('select url from feeds order by url');
    expect(feeds.rows.map((f) => f.url)).toEqual([site.url('/atom.xml'), site.url('/real.xml'), 'https://offline.invalid/rss'].sort());
  });
});
