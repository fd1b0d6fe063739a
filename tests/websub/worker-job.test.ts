/** The worker runs extra periodic jobs (WebSub lease renewal) on its own schedule, and stop() waits for them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendName, createTestDb, type TestDb } from '../helpers/db.ts';
import { testRuntime } from '../helpers/runtime.ts';
import { until } from '../helpers/websub-hub.ts';
import { startWorker } from '../../src/worker/worker.ts';
import type { Runtime } from '../../src/runtime.ts';

describe(`worker jobs (${backendName})`, () => {
  let t: TestDb;
  let rt: Runtime;
  beforeAll(async () => {
    t = await createTestDb();
    rt = await testRuntime(t.db);
  });
  afterAll(async () => {
    await rt?.close();
    await t?.drop();
  });

  it('runs a job on its schedule, never two runs of it at once, and stop() waits for the one running', async () => {
    let started = 0;
    let running = 0;
    let overlapped = false;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const worker = startWorker(rt.pollDeps, {
      ...rt.pollSettings,
      schedule: '0 0 1 1 *',
      stopWaitMs: 5000,
      jobs: [{
        name: 'websub',
        schedule: '* * * * * *',
        run: async () => {
          started++;
          running++;
          if (running > 1) overlapped = true;
          await gate;
          running--;
        },
      }],
    });
    await until(() => started === 1);
    const stopping = worker.stop();
    release();
    await stopping;
    expect(running).toBe(0);
    expect(overlapped).toBe(false);
    expect(started).toBe(1);
  });
});
