// The trained run's confusion matrix, drawn on a canvas so that 1,000 classes (a million cells)
// cost one bitmap instead of a million elements. recharts and @mantine/charts have no matrix
// heatmap, hence the custom drawing. Zoom changes the cell size, the frame scrolls, and the cell
// under the pointer is named with its count below the matrix (labels only fit on big cells).
import { Group, SegmentedControl, Stack, Table, Text } from '@mantine/core';
import { useEffect, useMemo, useRef, useState } from 'react';

/** The matrix at "fit" zoom is drawn about this wide. */
const FIT_WIDTH = 460;
/** Cells at least this big get their count printed; labels need LABEL_CELL. */
const COUNT_CELL = 22;
const LABEL_CELL = 10;
/** Longest class name printed in full beside the matrix. */
const LABEL_CHARS = 18;
/** The frame's height before it scrolls. */
const MAX_FRAME = 560;
/** Pairs listed under "most confused". */
const TOP_PAIRS = 10;

const ZOOMS = ['fit', '2x', '4x', '8x'] as const;
type Zoom = (typeof ZOOMS)[number];

export interface ConfusedPair {
  trueIndex: number;
  predictedIndex: number;
  count: number;
  /** count / all test images of the true class. */
  share: number;
}

/** The largest off-diagonal cells, largest first (ties by share, then by class order). */
export function mostConfusedPairs(matrix: number[][], top = TOP_PAIRS): ConfusedPair[] {
  const pairs: ConfusedPair[] = [];
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((count, j) => {
      if (i !== j && count > 0) pairs.push({ trueIndex: i, predictedIndex: j, count, share: count / total });
    });
  });
  pairs.sort((a, b) => b.count - a.count || b.share - a.share || a.trueIndex - b.trueIndex || a.predictedIndex - b.predictedIndex);
  return pairs.slice(0, top);
}

export function ConfusionMatrix({ labels, matrix }: { labels: string[]; matrix: number[][] }) {
  const n = labels.length;
  const [zoom, setZoom] = useState<Zoom>('fit');
  const [hover, setHover] = useState<{ i: number; j: number } | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const fitCell = Math.max(1, Math.min(44, Math.floor(FIT_WIDTH / Math.max(1, n))));
  const cell = zoom === 'fit' ? fitCell : Math.min(44, fitCell * Number(zoom.slice(0, -1)));
  const showLabels = cell >= LABEL_CELL;
  const labelRoom = showLabels ? Math.min(118, Math.max(50, 10 + 6 * Math.max(...labels.map((l) => Math.min(l.length, LABEL_CHARS))))) : 0;
  const size = n * cell;
  const rowTotals = useMemo(() => matrix.map((r) => r.reduce((a, b) => a + b, 0) || 1), [matrix]);
  const pairs = useMemo(() => mostConfusedPairs(matrix), [matrix]);

  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext('2d');
    if (!el || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const w = labelRoom + size;
    el.width = Math.ceil(w * dpr);
    el.height = Math.ceil(w * dpr);
    el.style.width = `${w}px`;
    el.style.height = `${w}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, w);
    // One pixel per cell, scaled up without smoothing: a million cells cost one bitmap.
    const cells = new ImageData(Math.max(1, n), Math.max(1, n));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) cells.data.set(cellColour(i === j, matrix[i][j], rowTotals[i]), 4 * (i * n + j));
    }
    const bitmap = document.createElement('canvas');
    bitmap.width = cells.width;
    bitmap.height = cells.height;
    bitmap.getContext('2d')?.putImageData(cells, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(bitmap, labelRoom, labelRoom, size, size);
    if (cell >= 6) {
      ctx.fillStyle = '#fff';
      for (let k = 1; k < n; k++) {
        ctx.fillRect(labelRoom + k * cell - 1, labelRoom, 1, size);
        ctx.fillRect(labelRoom, labelRoom + k * cell - 1, size, 1);
      }
    }
    ctx.font = '10px sans-serif';
    if (cell >= COUNT_CELL) {
      ctx.textAlign = 'center';
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const v = matrix[i][j];
          if (v === 0) continue;
          ctx.fillStyle = v / rowTotals[i] > 0.5 ? '#fff' : '#212529';
          ctx.fillText(String(v), labelRoom + j * cell + cell / 2, labelRoom + i * cell + cell / 2 + 4);
        }
      }
    }
    if (showLabels) {
      ctx.fillStyle = '#495057';
      labels.forEach((l, i) => {
        const text = truncate(l, LABEL_CHARS);
        ctx.textAlign = 'right';
        ctx.fillText(text, labelRoom - 6, labelRoom + i * cell + cell / 2 + 4);
        ctx.save();
        ctx.translate(labelRoom + i * cell + cell / 2 + 3, labelRoom - 6);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'left';
        ctx.fillText(text, 0, 0);
        ctx.restore();
      });
    }
  }, [labels, matrix, rowTotals, n, cell, size, labelRoom, showLabels]);

  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    const j = Math.floor((e.clientX - box.left - labelRoom) / cell);
    const i = Math.floor((e.clientY - box.top - labelRoom) / cell);
    setHover(i >= 0 && j >= 0 && i < n && j < n ? { i, j } : null);
  };
  const describe = (i: number, j: number, v: number) =>
    `true ${labels[i]} → predicted ${labels[j]}: ${v} of ${rowTotals[i]} (${Math.round((100 * v) / rowTotals[i])}%)`;

  return (
    <Stack gap="xs" data-testid="confusion-matrix">
      <Group justify="space-between">
        <Text size="xs" c="dimmed">
          rows: true class · columns: predicted · {n} classes
        </Text>
        <SegmentedControl size="xs" value={zoom} onChange={(v) => setZoom(v as Zoom)} data={[...ZOOMS]} data-testid="confusion-zoom" />
      </Group>
      <div style={{ overflow: 'auto', maxHeight: MAX_FRAME, maxWidth: '100%' }}>
        <div style={{ position: 'relative', width: labelRoom + size, margin: '0 auto' }}>
          <canvas ref={canvas} onMouseMove={onMove} onMouseLeave={() => setHover(null)} style={{ display: 'block' }} data-testid="confusion-canvas" />
          {hover && (
            <>
              <div className="matrix-hover" style={{ left: labelRoom, top: labelRoom + hover.i * cell, width: size, height: cell }} />
              <div className="matrix-hover" style={{ left: labelRoom + hover.j * cell, top: labelRoom, width: cell, height: size }} />
            </>
          )}
        </div>
      </div>
      <Text size="xs" c={hover ? undefined : 'dimmed'} mih={18} data-testid="confusion-hover">
        {hover ? describe(hover.i, hover.j, matrix[hover.i][hover.j]) : 'Point at a cell for its count.'}
      </Text>
      <Text size="sm" fw={600} mt="xs">
        Most confused pairs
      </Text>
      {pairs.length === 0 ? (
        <Text size="sm" c="dimmed">
          No test image went to a wrong class.
        </Text>
      ) : (
        <Table verticalSpacing={3} fz="xs" data-testid="confused-pairs">
          <Table.Tbody>
            {pairs.map((p) => (
              <Table.Tr key={`${p.trueIndex}-${p.predictedIndex}`}>
                <Table.Td fw={600}>{labels[p.trueIndex]}</Table.Td>
                <Table.Td c="dimmed">taken for</Table.Td>
                <Table.Td fw={600}>{labels[p.predictedIndex]}</Table.Td>
                <Table.Td ta="right">
                  {p.count} ({Math.round(100 * p.share)}%)
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

/** The cell's colour over white: green on the diagonal, red off it, deeper with the row's share. */
function cellColour(diagonal: boolean, count: number, rowTotal: number): [number, number, number, number] {
  if (!diagonal && count === 0) return [241, 243, 245, 255];
  const share = count / rowTotal;
  const [r, g, b] = diagonal ? [12, 166, 120] : [224, 49, 49];
  const alpha = diagonal ? 0.12 + 0.88 * share : 0.2 + 0.8 * share;
  return [Math.round(255 + (r - 255) * alpha), Math.round(255 + (g - 255) * alpha), Math.round(255 + (b - 255) * alpha), 255];
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
