/**
 * The WebSub callback `/websub/:feedId/:token` (src/websub/subscriber.ts subscribes with it):
 * GET is the hub's intent verification, answered with the challenge only for a pending
 * (un)subscription of that topic and token; POST is content distribution (src/websub/delivery.ts).
 * Registered before the app's JSON body parser: the signature is over the raw bytes.
 */
import express from 'express';
import type { ApiDeps } from '../deps.ts';
import { HttpProblem, badRequest, notFound } from '../problem.ts';
import { parseId } from '../params.ts';
import { confirmSubscribe, confirmUnsubscribe, recordDenied } from '../../store/websub.ts';
import { acceptDelivery } from '../../websub/delivery.ts';
import { renewalTime } from '../../websub/subscriber.ts';
import { parseFeed } from '../../parse/index.ts';

const MAX_INT4 = 2147483647;
const DENIED_RETRY_SECONDS = 86400;

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function registerWebSubRoutes(app: express.Express, deps: ApiDeps): void {
  const now = () => new Date();

  app.get('/websub/:feedId/:token', async (req, res) => {
    const feedId = parseId(req.params.feedId, 'feedId', MAX_INT4);
    const token = req.params.token;
    const mode = text(req.query['hub.mode']);
    const topic = text(req.query['hub.topic']);
    if (!mode || !topic) throw badRequest('hub.mode', 'hub.mode and hub.topic are required');
    const unknown = notFound('pending subscription for this callback and topic');

    if (mode === 'denied') {
      const reason = text(req.query['hub.reason']) ?? 'no reason given';
      const at = now();
      if (!(await recordDenied(deps.db, feedId, token, topic, `hub denied the subscription: ${reason}`, at, new Date(at.getTime() + DENIED_RETRY_SECONDS * 1000)))) {
        throw unknown;
      }
      deps.logger.warn({ feedId, topic, reason }, 'WebSub subscription denied by the hub');
      res.status(204).end();
      return;
    }
    const challenge = text(req.query['hub.challenge']);
    if (!challenge) throw badRequest('hub.challenge', 'is required');
    let confirmed: boolean;
    if (mode === 'subscribe') {
      const lease = Number(text(req.query['hub.lease_seconds']));
      const at = now();
      confirmed = await confirmSubscribe(deps.db, {
        feedId, token, topic, now: at,
        leaseSeconds: Number.isInteger(lease) && lease > 0 ? lease : null,
        renewAt: (lease) => renewalTime(at, lease),
        pollMaxSeconds: deps.config.POLL_MAX_INTERVAL,
      });
    } else if (mode === 'unsubscribe') {
      confirmed = await confirmUnsubscribe(deps.db, feedId, token, topic);
    } else {
      throw badRequest('hub.mode', 'must be subscribe, unsubscribe or denied');
    }
    if (!confirmed) throw unknown;
    deps.logger.info({ feedId, topic, mode }, 'WebSub intent verified');
    res.status(200).type('text/plain').send(challenge);
  });

  const raw = express.raw({ type: () => true, limit: deps.config.FETCH_MAX_BYTES });
  app.post('/websub/:feedId/:token', raw, async (req, res) => {
    const feedId = parseId(req.params.feedId, 'feedId', MAX_INT4);
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const outcome = await acceptDelivery(
      {
        db: deps.db,
        parse: deps.websub?.parse ?? parseFeed,
        retentionDays: deps.config.RETENTION_DAYS,
        storyWindowSeconds: deps.config.STORY_WINDOW,
        now,
        onStored: deps.websub?.publisher ? (region) => deps.websub?.publisher?.changed([region]) : undefined,
      },
      {
        feedId,
        token: req.params.token,
        body,
        contentType: req.get('content-type') ?? null,
        signature256: req.get('x-hub-signature-256'),
        signature: req.get('x-hub-signature'),
      },
    );
    switch (outcome.kind) {
      case 'stored': {
        const r = outcome.result;
        deps.logger.info({ feedId, inserted: r.inserted, linked: r.linked, updated: r.updated }, 'WebSub delivery stored');
        // Counted like a poll's entries: pushed or polled, they are the same ingest.
        if (r.inserted) deps.metrics.entriesIngested.inc({ effect: 'inserted' }, r.inserted);
        if (r.linked) deps.metrics.entriesIngested.inc({ effect: 'linked' }, r.linked);
        if (r.updated) deps.metrics.entriesIngested.inc({ effect: 'updated' }, r.updated);
        res.json({ inserted: r.inserted, linked: r.linked, updated: r.updated, unchanged: r.unchanged });
        return;
      }
      case 'unknown':
        throw notFound('subscription');
      case 'gone':
        throw new HttpProblem(410, 'Gone', outcome.reason);
      case 'unsigned':
        throw new HttpProblem(403, 'Forbidden', 'the delivery carries no X-Hub-Signature-256 or X-Hub-Signature');
      case 'bad-signature':
        throw new HttpProblem(403, 'Forbidden', 'the delivery signature does not match');
      case 'not-a-feed':
        throw badRequest('body', outcome.reason);
    }
  });
}
