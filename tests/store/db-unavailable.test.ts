import { describe, expect, it } from 'vitest';
import { DbUnavailableError, isDbUnavailable, retryWhileUnavailable } from '../../src/store/db.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('which database errors mean "unreachable right now"', () => {
  it('connection failures, terminated backends and shutdowns are; constraint, auth and syntax errors are not', () => {
    for (const e of [
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('getaddrinfo ENOTFOUND db', 'ENOTFOUND'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('timeout exceeded when trying to connect'),
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
      new DbUnavailableError(new Error('x')),
    ]) {
      expect(isDbUnavailable(e), e.message).toBe(true);
    }
    for (const e of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('password authentication failed for user "x"', '28P01'),
      withCode('database "nowhere" does not exist', '3D000'),
      withCode('deadlock detected', '40P01'),
      new Error('something else'),
      'not an error',
    ]) {
      expect(isDbUnavailable(e), String(e)).toBe(false);
    }
  });

  it('retryWhileUnavailable retries only unavailability, within its time, and wraps what it gives up on', async () => {
    let calls = 0;
    const ok = await retryWhileUnavailable(async () => {
      if (++calls < 3) throw withCode('read ECONNRESET', 'ECONNRESET');
      return 'done';
    }, { timeoutMs: 10_000 });
    expect(ok).toBe('done');
    expect(calls).toBe(3);

    calls = 0;
    await expect(retryWhileUnavailable(async () => {
      calls++;
      throw withCode('duplicate key', '23505');
    }, { timeoutMs: 10_000 })).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(1);

    await expect(retryWhileUnavailable(async () => {
      throw withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED');
    }, { timeoutMs: 0 })).rejects.toBeInstanceOf(DbUnavailableError);
  });
});
