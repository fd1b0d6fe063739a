#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm ci` through the prepare script, or `npm run build`) when
// it is up to date with the sources, else the TypeScript sources through tsx, so `npx tributary`
// works right after `npm ci` and right after an edit.
import { compiledEntry } from './compiled.js';

const compiled = compiledEntry('src/cli/main.js');
if (compiled) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
