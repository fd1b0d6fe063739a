import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/env.ts';

/**
 * docker cannot run here, so the files are read the way docker reads them and each property the
 * deployment relies on is checked: what the container's environment becomes (through our own
 * loadConfig), that the health check follows PORT (by running its command), and who owns DATA_DIR.
 */

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions in order, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\r?\n/g, ' ');
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** `ENV A=1 B=2` pairs of the image, in order. */
function imageEnv(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions.filter((x) => x.op === 'ENV')) {
    for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` substitution against `shell`. */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(:?-)?([^}]*)\}/g, (_m, name: string, op: string | undefined, def: string) => {
    const v = shell[name];
    if (op === ':-') return v === undefined || v === '' ? def : v;
    if (op === '-') return v === undefined ? def : v;
    return v ?? '';
  });
}

interface Service {
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  volumes?: string[];
}

function tributaryService(): Service {
  const doc = parseYaml(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, Service> };
  const svc = doc.services.tributary;
  if (!svc) throw new Error('docker-compose.yml has no tributary service');
  return svc;
}

/** The container's environment as `docker compose up` would set it, given the operator's shell. */
function containerEnv(shell: Record<string, string>): Record<string, string> {
  const svc = tributaryService();
  const entries: [string, string][] = Array.isArray(svc.environment)
    ? svc.environment.map((e) => {
        const [k, ...v] = e.split('=');
        return [k!, v.join('=')];
      })
    : Object.entries(svc.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return { ...imageEnv(dockerfile()), ...Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, shell)])) };
}

describe('docker-compose.yml and Dockerfile', () => {
  let readyz: Server;
  let readyPort: number;
  let readyStatus = 200;

  beforeAll(async () => {
    readyz = createServer((req, res) => res.writeHead(req.url === '/readyz' ? readyStatus : 404).end());
    await new Promise<void>((resolve) => readyz.listen(0, '127.0.0.1', resolve));
    readyPort = (readyz.address() as AddressInfo).port;
  });
  afterAll(() => {
    readyz.close();
  });

  it('leaves PUBLIC_URL to the request and the demo off, unless the operator sets them', () => {
    const config = loadConfig(containerEnv({}));
    expect(config.PUBLIC_URL).toBeUndefined();
    expect(config.DEMO).toBe(false);
    expect(config.DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    expect(readFileSync('Dockerfile', 'utf8')).not.toMatch(/PUBLIC_URL/);

    const set = loadConfig(containerEnv({ PUBLIC_URL: 'https://news.example.org', DEMO: 'true' }));
    expect(set.PUBLIC_URL).toBe('https://news.example.org');
    expect(set.DEMO).toBe(true);
  });

  it('publishes and listens on the same PORT, default 3000', () => {
    for (const [shell, port] of [[{}, 3000], [{ PORT: '8080' }, 8080]] as const) {
      expect(loadConfig(containerEnv(shell)).PORT).toBe(port);
      const published = tributaryService().ports!.map((p) => interpolate(p, shell));
      expect(published).toEqual([`${port}:${port}`]);
    }
  });

  it('has a health check that follows PORT (run here against a live /readyz)', async () => {
    const check = dockerfile().find((i) => i.op === 'HEALTHCHECK');
    expect(check).toBeDefined();
    // HEALTHCHECK [--option=value ...] CMD <shell command>
    const command = /^(?:--\S+\s+)*CMD\s+(.+)$/.exec(check!.args)?.[1];
    expect(command).toBeDefined();
    const run = (env: Record<string, string>) =>
      new Promise<number | null>((resolve) => {
        const child = spawn('sh', ['-c', command!], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });
    // In the container PORT comes from compose; the check must read it, not assume 3000.
    const env = containerEnv({ PORT: String(readyPort) });
    expect(await run({ PORT: env.PORT! })).toBe(0);
    // A /readyz answering 503 (database down) is unhealthy.
    readyStatus = 503;
    expect(await run({ PORT: String(readyPort) })).toBe(1);
    // Nothing listening there is unhealthy too.
    await new Promise<void>((resolve) => readyz.close(() => resolve()));
    expect(await run({ PORT: String(readyPort) })).toBe(1);
    // No health check of compose's own overrides the image's with a fixed port.
    expect(JSON.stringify(tributaryService()).includes(':3000/')).toBe(false);
  });

  it('runs as an unprivileged user that owns DATA_DIR, which compose keeps on a volume', () => {
    const instructions = dockerfile();
    const userIndex = instructions.findIndex((i) => i.op === 'USER');
    expect(userIndex).toBeGreaterThan(0);
    const user = instructions[userIndex]!.args.split(':')[0]!;
    expect(user).not.toMatch(/^(root|0)$/);
    const dataDir = loadConfig(containerEnv({})).DATA_DIR;
    expect(dataDir).toMatch(/^\//);
    // Created and handed to that user before the image switches to it.
    const prepared = instructions
      .slice(0, userIndex)
      .filter((i) => i.op === 'RUN')
      .some((i) => i.args.includes(`mkdir -p ${dataDir}`) && new RegExp(`chown (-R )?${user}(:${user})? ${dataDir}(\\s|$)`).test(i.args));
    expect(prepared).toBe(true);
    expect(tributaryService().volumes?.some((v) => v.split(':')[1] === dataDir)).toBe(true);
  });
});
