// The UI stays responsive during training: the run trains in a worker thread, so a call made
// while it is in progress (epochs still arriving) is answered at once; cancel stops the run.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LammService } from '../../src-main/api/service';
import { startServer, type RunningServer } from '../../src-main/server';
import { makeTinyModel, tempDir, writeImageFolder } from './lamm-fixture';
import { connectClient, type TestClient } from './server-client';

let server: RunningServer;
let service: LammService;
let client: TestClient;

beforeAll(async () => {
  const dir = tempDir('serve-train');
  service = new LammService({ host: 'server', stateDir: path.join(dir, 'state'), version: 'test' });
  server = await startServer({ service, staticDir: path.join(dir, 'no-renderer') });
  client = await connectClient(server.url);
  const data = path.join(dir, 'data');
  await writeImageFolder(data, 8);
  await client.api.createProject({ dbPath: path.join(dir, 'p.lamm.sqlite') });
  const imported = client.next('job:done');
  await client.api.importFolder({ folder: data });
  await imported;
  await client.api.addModel({ folder: makeTinyModel(dir) });
});
afterAll(async () => {
  client?.close();
  await server?.close();
  await service?.close();
});

describe('training over lamm serve', () => {
  it('answers calls while a run trains, streams epochs, and cancels', async () => {
    const firstEpoch = client.next('run:update', (u) => u.epoch !== null);
    const { jobId } = await client.api.startTraining({ shots: 2, epochs: 400, views: 2, batchSize: 4 });
    const { runId, epoch } = await firstEpoch;
    expect(Number.isInteger(epoch!.epoch)).toBe(true);
    expect(Number.isFinite(epoch!.loss) && Number.isFinite(epoch!.terms.ce)).toBe(true);

    // A call during the run is answered while the run is still going (training is in a worker,
    // so the call does not wait for it; how fast is a benchmark's question, not this test's).
    const status = await client.api.getStatus();
    expect(status.jobs.find((j) => j.id === jobId)?.status).toBe('running');
    expect((await client.api.listRuns()).find((r) => r.id === runId)?.status).toBe('running');
    const later = await client.next('run:update', (u) => u.runId === runId && (u.epoch?.epoch ?? 0) > epoch!.epoch);
    expect(later.status).toBe('running');

    const failed = client.next('job:failed', (f) => f.jobId === jobId);
    await client.api.cancelJob({ jobId });
    expect(await failed).toMatchObject({ cancelled: true, message: 'cancelled' });
    const run = await client.api.getRun({ runId });
    expect(run.status).toBe('cancelled');
    expect(run.log.length).toBeGreaterThan(1); // the partial log is kept
  });
});
