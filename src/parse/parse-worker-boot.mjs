// Entry of a parse thread: Node 20 loads a worker's main module before any --import hook runs,
// so the thread registers tsx itself and then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./parse-worker.ts');
