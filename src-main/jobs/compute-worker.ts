// The compute worker's entry (see compute.ts): runs one task of COMPUTE_TASKS on the arguments
// it was started with and posts progress, then the result or the one-line reason. Cancel
// arrives as a message and aborts the task's JobContext.
import { parentPort, workerData } from 'node:worker_threads';
import { firstLine } from '../errors';
import { type ComputeMessage, type ComputeRequest, runInWorkerThread } from './compute';
import { CancelledError, type JobContext } from './context';

if (!parentPort) throw new Error('compute-worker.ts must run as a worker thread');
const port = parentPort;
const request = workerData as ComputeRequest;
const controller = new AbortController();
port.on('message', (m: { type: 'cancel' }) => {
  if (m.type === 'cancel') controller.abort();
});
const post = (m: ComputeMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const ctx: JobContext = { signal: controller.signal, progress: (progress) => post({ type: 'progress', progress }) };

try {
  const result = await runInWorkerThread(request.task, request.args as never, ctx);
  post({ type: 'done', result }, ArrayBuffer.isView(result) ? [result.buffer as ArrayBuffer] : []);
} catch (err) {
  post({ type: 'failed', message: firstLine(err), cancelled: err instanceof CancelledError || controller.signal.aborted });
} finally {
  port.close();
}
