// A small SVG line chart (no chart library): a few series over a shared x axis, nice ticks,
// a legend. Enough for loss terms and accuracy per epoch. Drawn at the width it is given, so
// its text stays the same size in a wide card and a narrow one.
import { Group, Text } from '@mantine/core';
import { useElementSize } from '@mantine/hooks';

export interface Series {
  key: string;
  label: string;
  color: string;
  points: [number, number][];
}

/** Width drawn before the first measurement. */
const DEFAULT_WIDTH = 440;
const PAD = { left: 46, right: 12, top: 10, bottom: 32 };

export function LineChart({ series, xLabel, yDomain, height = 200, testId }: { series: Series[]; xLabel?: string; yDomain?: [number, number]; height?: number; testId?: string }) {
  const { ref, width } = useElementSize();
  const W = Math.round(width) || DEFAULT_WIDTH;
  const H = height;
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const x0 = xs.length ? Math.min(...xs) : 0;
  const x1 = xs.length ? Math.max(...xs, x0 + 1) : 1;
  const [y0, y1] = yDomain ?? padDomain(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1);
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - PAD.top - PAD.bottom);
  const yTicks = niceTicks(y0, y1, 4);
  const xTicks = niceTicks(x0, x1, 6).filter((t) => Number.isInteger(t));

  return (
    <div data-testid={testId}>
      <div ref={ref} style={{ minWidth: 0 }}>
        <svg viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" style={{ display: 'block', maxWidth: '100%' }}>
          {yTicks.map((t) => (
            <g key={`y${t}`}>
              <line x1={PAD.left} x2={W - PAD.right} y1={sy(t)} y2={sy(t)} stroke="#e9ecef" />
              <text x={PAD.left - 6} y={sy(t) + 4} fontSize="11" textAnchor="end" fill="#868e96">
                {formatTick(t)}
              </text>
            </g>
          ))}
          {xTicks.map((t) => (
            <text key={`x${t}`} x={sx(t)} y={H - PAD.bottom + 14} fontSize="11" textAnchor="middle" fill="#868e96">
              {t}
            </text>
          ))}
          {xLabel && (
            <text x={(PAD.left + W - PAD.right) / 2} y={H - 2} fontSize="11" textAnchor="middle" fill="#868e96">
              {xLabel}
            </text>
          )}
          <line x1={PAD.left} x2={PAD.left} y1={PAD.top} y2={H - PAD.bottom} stroke="#ced4da" />
          {series.map((s) => {
            const pts = s.points.filter(([, y]) => Number.isFinite(y));
            if (pts.length === 0) return null;
            return (
              <g key={s.key}>
                <polyline fill="none" stroke={s.color} strokeWidth={2} strokeLinejoin="round" points={pts.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ')} />
                {pts.length <= 40 && pts.map(([x, y]) => <circle key={x} cx={sx(x)} cy={sy(y)} r={2.2} fill={s.color} />)}
              </g>
            );
          })}
          {all.length === 0 && (
            <text x={W / 2} y={H / 2} textAnchor="middle" fontSize="12" fill="#adb5bd">
              waiting for the first epoch…
            </text>
          )}
        </svg>
      </div>
      <Group gap="md" justify="center" mt={4}>
        {series.map((s) => (
          <Group key={s.key} gap={6}>
            <span style={{ width: 12, height: 3, background: s.color, display: 'inline-block', borderRadius: 2 }} />
            <Text size="xs" c="dimmed">
              {s.label}
            </Text>
          </Group>
        ))}
      </Group>
    </div>
  );
}

function padDomain(lo: number, hi: number): [number, number] {
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function formatTick(t: number): string {
  const a = Math.abs(t);
  if (a !== 0 && (a < 0.01 || a >= 10000)) return t.toExponential(0);
  return String(Number(t.toPrecision(3)));
}
