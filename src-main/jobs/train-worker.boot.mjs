// Worker bootstrap when running from source: registers tsx's loader inside the worker thread
// (Node 20 does not carry `--import tsx` loader hooks into workers), then loads the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./train-worker.ts');
