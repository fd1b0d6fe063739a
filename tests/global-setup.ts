import { mkdirSync, writeFileSync } from 'node:fs';
import { openEmbedded } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { EMBEDDED_TEMPLATE } from './helpers/paths.ts';

/**
 * Embedded runs: initdb + migrations once (≈5 s), saved as a tarball every test file clones (≈1 s).
 * Server runs: each test file creates its own database, so nothing is needed here.
 */
export default async function setup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const db = await openEmbedded();
  await migrate(db);
  const blob = await db.snapshot!();
  mkdirSync(new URL('.', EMBEDDED_TEMPLATE), { recursive: true });
  writeFileSync(EMBEDDED_TEMPLATE, Buffer.from(await blob.arrayBuffer()));
  await db.close();
}
