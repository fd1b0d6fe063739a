import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.ts';

const load = (value: string) => loadConfig({ ALLOW_PRIVATE_NETWORKS: value }).ALLOW_PRIVATE_NETWORKS;

describe('ALLOW_PRIVATE_NETWORKS', () => {
  it('takes true, false or a list of CIDR ranges', () => {
    expect(load('')).toEqual({ all: false, cidrs: [] });
    expect(load('false')).toEqual({ all: false, cidrs: [] });
    expect(load('true')).toEqual({ all: true, cidrs: [] });
    expect(load(' 10.0.0.0/8, 127.0.0.1/32 ,fd00::/8 ')).toEqual({ all: false, cidrs: ['10.0.0.0/8', '127.0.0.1/32', 'fd00::/8'] });
  });

  it.each(['127.0.0.0/99', '10.0.0.0/8,::1/129', '10.0.0/8', '300.1.2.3/8', '127.0.0.1', 'localhost/8', 'yes please'])(
    'refuses %s at start, naming the variable and the bad range',
    (value) => {
      let err: unknown;
      try {
        load(value);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as Error).message;
      expect(message).toMatch(/^invalid configuration:\n {2}ALLOW_PRIVATE_NETWORKS: /);
      expect(message).toMatch(/not a valid CIDR range: "/);
    },
  );

  it('names every bad range of a list', () => {
    expect(() => load('10.0.0.0/8,127.0.0.0/99,fd00::/200')).toThrow('not a valid CIDR range: "127.0.0.0/99", "fd00::/200"');
  });
});
