// Entry of the training worker thread: TypeScript is loaded through tsx here because a worker does
// not inherit the loader the main thread registered (bin/hotaisle.js). See backgroundTraining.ts.
import { register } from 'tsx/esm/api';

register();
await import('./trainWorker.ts');
