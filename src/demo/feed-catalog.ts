/**
 * Reads the list of bundled demo feeds (`demo/feeds/feeds.json`) and renders their templates.
 */
import { readFile } from 'node:fs/promises';
import { renderFeedTemplate } from './render-template.ts';
import { projectFile } from '../paths.ts';

export interface DemoFeedEntry {
  /** Template file name inside the feeds directory. */
  file: string;
  /** URL path the demo server serves it at, e.g. `/levant-news-wire.rss.xml`. */
  path: string;
  title: string;
  region: string;
  language: string;
  /** Sent as is; the windows-1252 feed has no charset parameter so its XML prolog decides. */
  contentType: string;
}

export interface RenderedDemoFeed extends DemoFeedEntry {
  body: Buffer;
}

export const DEFAULT_FEEDS_DIR = projectFile('demo/feeds/');

export async function loadDemoCatalog(feedsDir: URL = DEFAULT_FEEDS_DIR): Promise<DemoFeedEntry[]> {
  const raw: unknown = JSON.parse(await readFile(new URL('feeds.json', feedsDir), 'utf8'));
  if (!Array.isArray(raw)) throw new Error('demo/feeds/feeds.json must be an array');
  return raw.map((entry: unknown, index) => toEntry(entry, index));
}

/**
 * Renders every template. Files are read and written as latin1, which maps each byte to one
 * character and back: the placeholders and the dates replacing them are ASCII, so every other byte
 * (UTF-8 sequences, windows-1252 quotes and €) comes out exactly as it went in, whatever the
 * file's encoding.
 */
export async function renderDemoFeeds(
  entries: DemoFeedEntry[],
  now: Date,
  feedsDir: URL = DEFAULT_FEEDS_DIR,
): Promise<RenderedDemoFeed[]> {
  return Promise.all(
    entries.map(async (entry) => {
      const template = await readFile(new URL(entry.file, feedsDir), 'latin1');
      let rendered: string;
      try {
        rendered = renderFeedTemplate(template, now);
      } catch (err) {
        throw new Error(`${entry.file}: ${(err as Error).message}`);
      }
      return { ...entry, body: Buffer.from(rendered, 'latin1') };
    }),
  );
}

const STRING_FIELDS = ['file', 'path', 'title', 'region', 'language', 'contentType'] as const;

function toEntry(value: unknown, index: number): DemoFeedEntry {
  if (typeof value !== 'object' || value === null) throw new Error(`feeds.json[${index}] is not an object`);
  const record = value as Record<string, unknown>;
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== 'string' || record[field] === '') {
      throw new Error(`feeds.json[${index}].${field} must be a non-empty string`);
    }
  }
  const entry = record as unknown as DemoFeedEntry;
  // The file name is joined to a directory: keep it a plain name.
  if (!/^[\w.-]+$/.test(entry.file)) throw new Error(`feeds.json[${index}].file must be a plain file name`);
  if (!entry.path.startsWith('/') || entry.path === '/') throw new Error(`feeds.json[${index}].path must start with / and not be /`);
  return entry;
}
