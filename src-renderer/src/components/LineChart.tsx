// Series over a shared x axis (loss terms, accuracy, learning rate per epoch), drawn by
// @mantine/charts (recharts underneath) so the charts look and behave like the rest of the app:
// theme colours, a hover tooltip per epoch, a legend. Callers keep handing [x, y] points per series.
import { LineChart as MantineLineChart } from '@mantine/charts';
import { Center, Text } from '@mantine/core';

export interface Series {
  key: string;
  label: string;
  color: string;
  points: [number, number][];
}

/** Charts with more epochs than this draw lines without a dot per point. */
const MAX_DOTTED_POINTS = 40;

export function LineChart({
  series,
  xLabel = 'x',
  yDomain,
  height = 200,
  testId,
}: {
  series: Series[];
  xLabel?: string;
  yDomain?: [number, number];
  height?: number;
  testId?: string;
}) {
  const rows = toRows(series, xLabel);
  const pointCount = new Map(series.map((s) => [s.key, s.points.filter(([, y]) => Number.isFinite(y)).length]));
  if (rows.length === 0) {
    return (
      <Center h={height} data-testid={testId}>
        <Text size="sm" c="dimmed">
          waiting for the first epoch…
        </Text>
      </Center>
    );
  }
  return (
    <div data-testid={testId}>
      <MantineLineChart
        h={height}
        data={rows}
        dataKey={xLabel}
        series={series.map((s) => ({ name: s.key, label: s.label, color: s.color }))}
        curveType="linear"
        withLegend
        withDots={false}
        strokeWidth={2}
        connectNulls
        xAxisLabel={xLabel}
        xAxisProps={{ type: 'number', domain: ['dataMin', 'dataMax'], allowDecimals: false }}
        yAxisProps={{ ...(yDomain ? { domain: yDomain } : niceAxis(series)), width: 52 }}
        valueFormatter={formatValue}
        tooltipAnimationDuration={0}
        // A series with few points (test accuracy is measured once, after the last epoch) gets dots, or it would not show.
        lineProps={(line) => ({ isAnimationActive: false, dot: (pointCount.get(line.name) ?? 0) <= MAX_DOTTED_POINTS ? { r: 3, fillOpacity: 1 } : false })}
      />
    </div>
  );
}

/** One row per x value with every series' y under its key, as recharts wants its data. */
function toRows(series: Series[], xKey: string): Record<string, number>[] {
  const byX = new Map<number, Record<string, number>>();
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) continue;
      const row = byX.get(x) ?? { [xKey]: x };
      row[s.key] = y;
      byX.set(x, row);
    }
  }
  return [...byX.values()].sort((a, b) => a[xKey] - b[xKey]);
}

/** Round ticks covering the data (from zero for data that is not negative beyond rounding), as domain and tick list. */
function niceAxis(series: Series[], count = 4): { domain: [number, number]; ticks: number[] } {
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const hi = Math.max(...ys);
  let lo = Math.min(...ys);
  if (lo >= -1e-6 * Math.max(Math.abs(hi), 1e-12)) lo = Math.min(0, Math.max(lo, 0));
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => span / st <= count) ?? 10 * mag;
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let t = first; t < hi + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks.length < 2) ticks.push(Number((first + step).toPrecision(12)));
  return { domain: [ticks[0], ticks[ticks.length - 1]], ticks };
}

function formatValue(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 10000)) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}
