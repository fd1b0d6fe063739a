/** Worker-thread side of the parse pool: parses feed text off the main thread. */
import { parentPort } from 'node:worker_threads';
import { parseFeed } from './index.ts';
import { FeedParseError } from './types.ts';

interface Job {
  id: number;
  text: string;
  baseUrl: string | null;
  knownItems?: string[];
}

parentPort!.on('message', (job: Job) => {
  parseFeed(job.text, { baseUrl: job.baseUrl, knownItems: job.knownItems }).then(
    (feed) => parentPort!.postMessage({ id: job.id, feed }),
    (err: unknown) =>
      parentPort!.postMessage({
        id: job.id,
        error: {
          message: err instanceof Error ? err.message : String(err),
          advertisedFeedUrl: err instanceof FeedParseError ? err.advertisedFeedUrl : null,
        },
      }),
  );
});
