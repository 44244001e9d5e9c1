// How numbers and times read across the pages, in one place.

/** An accuracy in [0, 1] as a percentage with one decimal: `0.953` → `95.3%`. */
export function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** A change of accuracy in percentage points, signed: `0.45` → `+45.0`. */
export function points(delta: number): string {
  return `${delta >= 0 ? '+' : ''}${(100 * delta).toFixed(1)}`;
}

/** A timestamp short enough for a table cell: the time for today, the date and time otherwise. */
export function formatWhen(when: string | number, now = Date.now()): string {
  const d = new Date(when);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return sameDay ? time : `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}, ${time}`;
}

/** The file name of a path, and the folder it is in (for showing long paths in two parts). */
export function splitPath(p: string): { name: string; folder: string } {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i < 0 ? { name: p, folder: '' } : { name: p.slice(i + 1), folder: p.slice(0, i) };
}

/** `s` cut to its last `n` characters behind an ellipsis: the end of a path says the most. */
export function keepEnd(s: string, n: number): string {
  return s.length > n ? `…${s.slice(-(n - 1))}` : s;
}
