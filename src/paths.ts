/**
 * Where the project's files are. The same modules run as TypeScript through tsx (src/*.ts) and as
 * the compiled JavaScript of `npm run build` (dist/src/*.js, which skips tsx's loader thread in every
 * process and worker: about 60 MB of resident memory per worker process). Files read at run time
 * (sql/, demo/, package.json, the reader's stylesheet) are not copied into dist/: they are read
 * from the project directory in both cases.
 */
export const RUNNING_COMPILED: boolean = import.meta.url.endsWith('.js');

/** The project directory (holds package.json, sql/, demo/, src/), as a file: URL ending in '/'. */
export const PROJECT_DIR: URL = new URL(RUNNING_COMPILED ? '../../' : '../', import.meta.url);

/** A file or directory of the project, by its path from the project directory. */
export function projectFile(path: string): URL {
  return new URL(path, PROJECT_DIR);
}
