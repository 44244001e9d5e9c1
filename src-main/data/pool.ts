// A bounded pool for file work (reading, hashing, sharp): enough in flight to keep libuv's
// threads and the disk busy, few enough that memory stays flat however many files there are.
import os from 'node:os';
import { throwIfCancelled, type JobContext } from '../jobs/context';

/** Files in flight at once: sharp and fs run on libuv's 4 threads, a little more hides I/O waits. */
export const FILE_CONCURRENCY = Math.max(4, Math.min(8, os.availableParallelism() * 2));

/**
 * Calls `work` on every item with at most `concurrency` calls in flight, in order of start.
 * Stops starting new items once the job is cancelled (then throws CancelledError after the
 * ones in flight finish), and rethrows the first error `work` throws.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  ctx: JobContext | undefined,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const runner = async () => {
    while (failure === null && next < items.length && !ctx?.signal.aborted) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, runner));
  if (failure !== null) throw failure;
  throwIfCancelled(ctx);
}
