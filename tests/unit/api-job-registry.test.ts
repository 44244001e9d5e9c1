// Jobs: an id at once, then progress/log events and exactly one outcome; cancel aborts.
import { describe, expect, it } from 'vitest';
import type { EventName, LammEvents } from '../../src-main/api/contract';
import { JobRegistry } from '../../src-main/api/job-registry';
import { EventHub } from '../../src-main/api/rpc';
import { throwIfCancelled } from '../../src-main/jobs/context';

function recorder() {
  const hub = new EventHub();
  const events: { event: EventName; payload: LammEvents[EventName] }[] = [];
  hub.subscribe((event, payload) => events.push({ event, payload }));
  return { hub, events, names: () => events.map((e) => e.event) };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('JobRegistry', () => {
  it('returns an id before the work starts and reports progress, logs and the result', async () => {
    const { hub, events, names } = recorder();
    const jobs = new JobRegistry(hub);
    let started = false;
    const { jobId } = jobs.start('export', 'Exporting', async (ctx) => {
      started = true;
      ctx.progress({ stage: 'export', done: 0, total: 2 });
      ctx.log('writing');
      ctx.progress({ stage: 'export', done: 2, total: 2 });
      return { files: ['a/manifest.json'] };
    });
    expect(started).toBe(false);
    expect(jobs.list()[0]).toMatchObject({ id: jobId, kind: 'export', status: 'running' });
    await expect(jobs.wait<'export'>(jobId)).resolves.toEqual({ files: ['a/manifest.json'] });
    expect(names()).toEqual(['job:started', 'job:progress', 'job:log', 'job:progress', 'job:done']);
    expect(events.at(-1)!.payload).toEqual({ jobId, kind: 'export', result: { files: ['a/manifest.json'] } });
    expect(jobs.list()[0].status).toBe('done');
  });

  it('throttles progress but always sends the final one', async () => {
    const { hub, events } = recorder();
    const jobs = new JobRegistry(hub);
    const { jobId } = jobs.start('import', 'Importing', async (ctx) => {
      for (let i = 1; i <= 1000; i++) ctx.progress({ stage: 'import', done: i, total: 1000 });
      return {} as never;
    });
    await jobs.wait(jobId);
    const progress = events.filter((e) => e.event === 'job:progress').map((e) => (e.payload as LammEvents['job:progress']).progress.done);
    expect(progress.length).toBeLessThan(10);
    expect(progress.at(-1)).toBe(1000);
  });

  it('cancels through the AbortSignal and reports it as cancelled, not failed', async () => {
    const { hub, events } = recorder();
    const jobs = new JobRegistry(hub);
    const { jobId } = jobs.start('train', 'Training', async (ctx) => {
      for (;;) {
        throwIfCancelled(ctx);
        await tick();
      }
    });
    await tick();
    expect(jobs.cancel(jobId)).toBe(true);
    await expect(jobs.wait(jobId)).rejects.toThrow('cancelled');
    expect(events.at(-1)).toEqual({ event: 'job:failed', payload: { jobId, kind: 'train', message: 'cancelled', cancelled: true } });
    expect(jobs.cancel(jobId)).toBe(false); // already over
  });

  it('reports a failure as its first line', async () => {
    const { hub, events } = recorder();
    const jobs = new JobRegistry(hub);
    const { jobId } = jobs.start('import', 'Importing', async () => {
      throw new Error('class "cat" has no images\n    at somewhere');
    });
    await expect(jobs.wait(jobId)).rejects.toThrow('class "cat" has no images');
    expect(events.at(-1)!.payload).toEqual({ jobId, kind: 'import', message: 'class "cat" has no images', cancelled: false });
    expect(jobs.list()[0].status).toBe('failed');
  });
});
