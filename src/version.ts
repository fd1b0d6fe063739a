import { readFileSync } from 'node:fs';
import { projectFile } from './paths.ts';

const pkg = JSON.parse(readFileSync(projectFile('package.json'), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
export const USER_AGENT = `Tributary/${VERSION} (+https://github.com/tributary-news/tributary; news feed aggregator)`;
