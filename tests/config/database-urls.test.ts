import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.ts';

const primary = 'postgres://tributary@pgbouncer:6432/tributary';

describe('DATABASE_DIRECT_URL, DATABASE_READ_URL, READ_REPLICA_MAX_LAG', () => {
  it('are optional; the lag limit defaults to 30 s and takes durations', () => {
    const c = loadConfig({ DATABASE_URL: primary });
    expect([c.DATABASE_DIRECT_URL, c.DATABASE_READ_URL, c.READ_REPLICA_MAX_LAG]).toEqual([undefined, undefined, 30]);
    const set = loadConfig({
      DATABASE_URL: primary,
      DATABASE_DIRECT_URL: 'postgres://tributary@db:5432/tributary',
      DATABASE_READ_URL: 'postgresql://tributary@replica:5432/tributary',
      READ_REPLICA_MAX_LAG: '2m',
    });
    expect([set.DATABASE_DIRECT_URL, set.DATABASE_READ_URL, set.READ_REPLICA_MAX_LAG]).toEqual([
      'postgres://tributary@db:5432/tributary',
      'postgresql://tributary@replica:5432/tributary',
      120,
    ]);
  });

  it.each([
    [{ DATABASE_URL: primary, DATABASE_READ_URL: 'mysql://replica/x' }, /DATABASE_READ_URL: expected a postgres:\/\/ URL/],
    [{ DATABASE_URL: primary, DATABASE_DIRECT_URL: 'db:5432' }, /DATABASE_DIRECT_URL: expected a postgres:\/\/ URL/],
    [{ DATABASE_URL: primary, READ_REPLICA_MAX_LAG: 'soon' }, /READ_REPLICA_MAX_LAG: expected a duration/],
    [{ DATABASE_READ_URL: 'postgres://replica/x' }, /DATABASE_READ_URL: needs DATABASE_URL/],
    [{ DATABASE_DIRECT_URL: 'postgres://db/x' }, /DATABASE_DIRECT_URL: needs DATABASE_URL/],
  ])('refuses %o at start, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
