import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compiledEntry } from '../../bin/compiled.js';

// bin/tributary.js and the bench run dist/ only while it is at least as new as every source: an
// edited source must never run as its stale compiled copy.
describe('which code runs: compiled dist/ or the sources', () => {
  let dir: string;
  const built = new Date('2026-01-02T00:00:00Z');
  const before = new Date('2026-01-01T00:00:00Z');
  const after = new Date('2026-01-03T00:00:00Z');
  const write = (path: string, time: Date): void => {
    writeFileSync(join(dir, path), '');
    utimesSync(join(dir, path), time, time);
  };
  const touchDir = (path: string, time: Date): void => utimesSync(join(dir, path), time, time);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-compiled-'));
    for (const d of ['src/cli', 'bench', 'dist/src/cli']) mkdirSync(join(dir, d), { recursive: true });
    write('src/cli/main.ts', before);
    write('bench/run.ts', before);
    write('dist/src/cli/main.js', built);
    write('dist/.built', built);
    for (const d of ['src/cli', 'src', 'bench']) touchDir(d, before);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs dist/ when it was built after every source', () => {
    expect(compiledEntry('src/cli/main.js', dir)?.pathname).toBe(join(dir, 'dist/src/cli/main.js'));
  });

  it('runs the sources when dist/ was never built, or the build failed before its stamp', () => {
    unlinkSync(join(dir, 'dist/.built'));
    expect(compiledEntry('src/cli/main.js', dir)).toBeNull();
  });

  it('runs the sources when the compiled file is missing', () => {
    expect(compiledEntry('src/cli/other.js', dir)).toBeNull();
  });

  it('runs the sources after a source or a bench file is edited', () => {
    write('src/cli/main.ts', after);
    expect(compiledEntry('src/cli/main.js', dir)).toBeNull();
    write('src/cli/main.ts', before);
    write('bench/run.ts', after);
    expect(compiledEntry('src/cli/main.js', dir)).toBeNull();
  });

  it('runs the sources after a source is deleted (its folder changes)', () => {
    write('src/cli/gone.ts', before);
    touchDir('src/cli', after);
    expect(compiledEntry('src/cli/main.js', dir)).toBeNull();
  });

  it('ignores what the bench writes (bench/results/)', () => {
    mkdirSync(join(dir, 'bench/results'));
    write('bench/results/latest.json', after);
    touchDir('bench/results', after);
    touchDir('bench', before);
    expect(compiledEntry('src/cli/main.js', dir)).not.toBeNull();
  });

  it('ignores a missing bench/ (the container image has none)', () => {
    rmSync(join(dir, 'bench'), { recursive: true });
    expect(compiledEntry('src/cli/main.js', dir)).not.toBeNull();
  });
});
