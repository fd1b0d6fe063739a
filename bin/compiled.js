// Which code a process runs: the compiled JavaScript of `npm run build` (dist/) when it is fresh,
// else the TypeScript sources through tsx. Compiled processes skip tsx's loader thread (in the
// main thread and in every parse thread): about 60 MB less resident memory per worker process,
// and a faster start.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROJECT_DIR = fileURLToPath(new URL('../', import.meta.url));
/** What dist/ is compiled from (tsconfig.build.json). */
const SOURCE_DIRS = ['src', 'bench'];
/** Written while the bench runs: not sources. */
const OUTPUT_DIRS = new Set([join('bench', 'results')]);

/**
 * The file: URL of the compiled `path` (e.g. 'src/cli/main.js' → dist/src/cli/main.js), or null when
 * dist/ was not built (`npm run build` writes dist/.built after tsc succeeded) or any file or folder
 * under src/ or bench/ changed after the build (a deleted file changes its folder): an edited
 * source must never run stale, so the caller falls back to tsx. `projectDir` is for tests.
 */
export function compiledEntry(path, projectDir = PROJECT_DIR) {
  const stamp = statSync(join(projectDir, 'dist', '.built'), { throwIfNoEntry: false });
  const entry = join(projectDir, 'dist', path);
  if (!stamp || !existsSync(entry)) return null;
  for (const dir of SOURCE_DIRS) {
    const base = join(projectDir, dir);
    const folder = statSync(base, { throwIfNoEntry: false });
    if (!folder) continue; // the image ships no bench/
    if (folder.mtimeMs > stamp.mtimeMs) return null;
    for (const name of readdirSync(base, { recursive: true })) {
      const path = join(dir, name);
      if (OUTPUT_DIRS.has(path) || [...OUTPUT_DIRS].some((out) => path.startsWith(out + '/'))) continue;
      if (statSync(join(projectDir, path)).mtimeMs > stamp.mtimeMs) return null;
    }
  }
  return pathToFileURL(entry);
}
