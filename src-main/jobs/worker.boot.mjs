// Worker bootstrap when running from source (jobs/workers.ts): registers tsx's loader inside the
// worker thread (Node 20 does not carry `--import tsx` loader hooks into workers), then loads
// the TypeScript entry whose file URL is the last argument.
import { register } from 'tsx/esm/api';

register();
await import(process.argv.at(-1));
