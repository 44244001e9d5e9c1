// The training worker's entry (see training.ts): opens the project and model, runs one
// training run, and reports through the parent port. Cancel arrives as a message and aborts
// the run at the next step boundary.
import { parentPort, workerData } from 'node:worker_threads';
import { describeBackend, initBackend } from '../backend';
import { loadClip, readModelFiles } from '../clip/model';
import { GpuHostClient, runCompute } from '../gpu-host/client';
import type { FromHost } from '../gpu-host/protocol';
import type { ClipModel } from '../clip/types';
import { ProjectStore } from '../data/store';
import { trainRun, type RunCompute } from '../lamm/run';
import { CancelledError, type JobContext } from './context';
import type { TrainJobRequest, WorkerCommand, WorkerMessage } from './training';
import { firstLine } from '../errors';

if (!parentPort) throw new Error('train-worker.ts must run as a worker thread');
const port = parentPort;
const request = workerData as TrainJobRequest;
const controller = new AbortController();
const gpuListeners: ((m: FromHost) => void)[] = [];
port.on('message', (m: WorkerCommand) => {
  if (m.type === 'cancel') controller.abort();
  else if (m.type === 'gpu') gpuListeners.forEach((l) => l(m.m));
});
const post = (m: WorkerMessage) => port.postMessage(m);

const ctx: JobContext = { signal: controller.signal, progress: (progress) => post({ type: 'progress', progress }) };

let store: ProjectStore | null = null;
let model: ClipModel | null = null;
try {
  const backend = await initBackend(request.backend);
  if (!request.gpuHost) post({ type: 'backend', backend: describeBackend(backend) });
  store = ProjectStore.open(request.dbFile);
  model = await loadClip(request.modelDir);
  // In Electron with a GPU: the image encoder and the training loop run on the GPU host page, over the main process's relay.
  let compute: RunCompute | undefined;
  if (request.gpuHost) {
    const client = new GpuHostClient({ postMessage: (m) => post({ type: 'gpu', m }), onMessage: (l) => gpuListeners.push(l) });
    const info = await client.call('init', {});
    await client.loadModel(readModelFiles(request.modelDir));
    compute = runCompute(client, info);
    post({ type: 'backend', backend: compute.backend });
  }
  const outcome = await trainRun(store, model, request, {
    compute,
    ctx,
    onRunCreated: (runId) => post({ type: 'run', runId }),
    onStep: (runId, step) => post({ type: 'step', runId, step }),
    onEpoch: (runId, record) => post({ type: 'epoch', runId, record }),
    log: (message) => post({ type: 'log', message }),
  });
  post({ type: 'done', outcome });
} catch (err) {
  const cancelled = err instanceof CancelledError || controller.signal.aborted;
  post({ type: 'failed', message: firstLine(err), cancelled });
} finally {
  model?.dispose();
  store?.close();
  port.close();
}
