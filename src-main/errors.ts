// One-line error reports: what a log, a run record, a job event or the CLI shows of an error is
// the first line of its message, so a stack or a library's multi-line detail never leaks in.

/** The first line of a thrown value's message (a non-Error is turned into text). */
export function firstLine(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return (typeof message === 'string' ? message : String(err)).split('\n')[0];
}
