// A WebGL scatterplot (regl-scatterplot) of up to hundreds of thousands of points that pans,
// zooms and lasso-selects (shift + drag, or the lasso mode), with a 2-D canvas on top for what
// WebGL points cannot say: each label's zero-shot → learned arrow and its name, and rings on
// flagged points. The overlay follows the scatterplot's camera through its synced d3 scales.
import { useEffect, useRef, useState } from 'react';
import createScatterplot from 'regl-scatterplot';
import { scaleLinear } from 'd3-scale';

/** Point marks, the scatterplot's second value: size and opacity per mark. */
export const MARKS = ['train', 'test', 'shot', 'excluded', 'flagged'] as const;
export type Mark = (typeof MARKS)[number];
const MARK_SIZE = [5, 5, 9, 4, 9];
const MARK_OPACITY = [0.85, 0.45, 1, 0.12, 1];
/** Names drawn beside label points up to this many labels; above it, only markers and arrows. */
const MAX_NAMED_LABELS = 80;
const MAX_RINGS = 5000;
/** Coordinates in [-1, 1] are drawn at this scale, so points on the edge are not cut off. */
const PAD = 0.92;

export interface ScatterData {
  x: Float32Array;
  y: Float32Array;
  /** Index into `colors` per point. */
  color: Int32Array;
  /** Index into MARKS per point. */
  mark: Int32Array;
}

export interface LabelArrow {
  name: string;
  color: string;
  /** Where the zero-shot label lands; `to`: where the learned one does (null without a run). */
  from: [number, number];
  to: [number, number] | null;
}

export interface ScatterMapProps {
  data: ScatterData;
  colors: string[];
  labels?: LabelArrow[];
  height: number | string;
  lasso?: boolean;
  onSelect?(indices: number[]): void;
  testId?: string;
}

/** A categorical colour per index: golden-angle hues, distinct for neighbours at any count. */
export function categoryColors(n: number): string[] {
  return Array.from({ length: n }, (_, i) => hslToHex((i * 137.508) % 360, i % 2 ? 0.55 : 0.7, i % 3 === 2 ? 0.42 : 0.52));
}

export function ScatterMap(props: ScatterMapProps) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const plot = useRef<ReturnType<typeof createScatterplot> | null>(null);
  const drawing = useRef<Promise<unknown>>(Promise.resolve());
  const scales = useRef({ x: scaleLinear().domain([-1, 1]), y: scaleLinear().domain([-1, 1]) });
  const latest = useRef(props);
  latest.current = props;
  const [drawn, setDrawn] = useState({ points: 0, arrows: 0, labels: 0 });
  const [failure, setFailure] = useState<string | null>(null);

  const paintOverlay = () => {
    const c = overlay.current;
    const b = box.current;
    if (!c || !b) return;
    const { labels = [], data } = latest.current;
    const dpr = window.devicePixelRatio || 1;
    const w = b.clientWidth;
    const h = b.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const sx = (v: number) => scales.current.x(v * PAD);
    const sy = (v: number) => scales.current.y(v * PAD);
    let rings = 0;
    g.strokeStyle = '#e03131';
    g.lineWidth = 1.5;
    for (let i = 0; i < data.mark.length && rings < MAX_RINGS; i++) {
      if (data.mark[i] !== 4) continue;
      rings++;
      g.beginPath();
      g.arc(sx(data.x[i]), sy(data.y[i]), 7, 0, 2 * Math.PI);
      g.stroke();
    }
    let arrows = 0;
    for (const l of labels) {
      const [fx, fy] = [sx(l.from[0]), sy(l.from[1])];
      if (l.to) {
        const [tx, ty] = [sx(l.to[0]), sy(l.to[1])];
        arrow(g, fx, fy, tx, ty, l.color);
        arrows++;
      }
      // Zero-shot: a hollow ring; learned: a filled diamond.
      g.lineWidth = 2.5;
      g.strokeStyle = '#fff';
      g.beginPath();
      g.arc(fx, fy, 7, 0, 2 * Math.PI);
      g.stroke();
      g.lineWidth = 2;
      g.strokeStyle = l.color;
      g.stroke();
      if (l.to) diamond(g, sx(l.to[0]), sy(l.to[1]), l.color);
    }
    if (labels.length <= MAX_NAMED_LABELS) {
      g.font = '600 12px system-ui, sans-serif';
      g.textBaseline = 'middle';
      for (const l of labels) {
        const at = l.to ?? l.from;
        const x = sx(at[0]) + 10;
        const y = sy(at[1]);
        g.lineWidth = 3;
        g.strokeStyle = 'rgba(255,255,255,0.9)';
        g.strokeText(l.name, x, y);
        g.fillStyle = '#1a1b1e';
        g.fillText(l.name, x, y);
      }
    }
    setDrawn((d) =>
      d.arrows === arrows && d.labels === labels.length && d.points === data.x.length ? d : { points: data.x.length, arrows, labels: labels.length },
    );
  };

  // One scatterplot per mounted component.
  // biome-ignore lint/correctness/useExhaustiveDependencies: created once; later props go through set()/draw()
  useEffect(() => {
    const b = box.current!;
    let sp: ReturnType<typeof createScatterplot>;
    try {
      sp = createScatterplot({
        canvas: canvas.current!,
        width: b.clientWidth,
        height: b.clientHeight,
        xScale: scales.current.x,
        yScale: scales.current.y,
        backgroundColor: [1, 1, 1, 1],
        pointSize: MARK_SIZE,
        opacity: MARK_OPACITY,
        colorBy: 'valueA',
        sizeBy: 'valueB',
        opacityBy: 'valueB',
        pointColorActive: '#000000',
        pointOutlineWidth: 2,
        lassoColor: '#228be6',
        deselectOnDblClick: true,
      });
    } catch (e) {
      // No WebGL (or a policy that forbids regl's compiled draw calls): say so instead of a blank app.
      setFailure(`the map cannot be drawn here: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    plot.current = sp;
    sp.subscribe('view', () => paintOverlay());
    sp.subscribe('select', ({ points }: { points: number[] }) => latest.current.onSelect?.(points));
    sp.subscribe('deselect', () => latest.current.onSelect?.([]));
    const resize = new ResizeObserver(() => {
      sp.set({ width: b.clientWidth, height: b.clientHeight });
      paintOverlay();
    });
    resize.observe(b);
    return () => {
      resize.disconnect();
      sp.destroy();
      plot.current = null;
    };
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: redraws when the points or their colours change
  useEffect(() => {
    const sp = plot.current;
    if (!sp) return;
    const { data, colors } = props;
    const x = data.x.map((v) => v * PAD);
    const y = data.y.map((v) => v * PAD);
    // regl-scatterplot ignores a draw that starts before the previous one finished: queue them.
    drawing.current = drawing.current
      .then(() => {
        if (plot.current !== sp) return;
        sp.set({ pointColor: colors.length ? colors : ['#868e96'] });
        return sp.draw({ x, y, valueA: data.color, valueB: data.mark }, { zDataType: 'categorical', wDataType: 'categorical' });
      })
      .then(() => paintOverlay())
      .catch((e: unknown) => setFailure(`the map cannot be drawn here: ${e instanceof Error ? e.message : String(e)}`));
  }, [props.data, props.colors]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the overlay repaints for new labels
  useEffect(() => paintOverlay(), [props.labels]);

  useEffect(() => {
    plot.current?.set({ mouseMode: props.lasso ? 'lasso' : 'panZoom' });
  }, [props.lasso]);

  return (
    <div
      ref={box}
      style={{
        position: 'relative',
        width: '100%',
        height: props.height,
        overflow: 'hidden',
        border: '1px solid var(--mantine-color-gray-3)',
        borderRadius: 8,
      }}
      data-testid={props.testId}
      data-points={drawn.points}
      data-arrows={drawn.arrows}
      data-labels={drawn.labels}
    >
      {failure && (
        <div style={{ position: 'absolute', inset: 0, padding: 16, color: 'var(--mantine-color-red-7)' }} data-testid="map-failure">
          {failure}
        </div>
      )}
      <canvas ref={canvas} style={{ position: 'absolute', inset: 0, width: '100%', height: '100%' }} />
      <canvas ref={overlay} style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', pointerEvents: 'none' }} />
    </div>
  );
}

function arrow(g: CanvasRenderingContext2D, fx: number, fy: number, tx: number, ty: number, color: string): void {
  const len = Math.hypot(tx - fx, ty - fy);
  if (len < 2) return;
  const ux = (tx - fx) / len;
  const uy = (ty - fy) / len;
  const head = Math.min(10, len / 2);
  const endX = tx - ux * 6;
  const endY = ty - uy * 6;
  for (const [width, stroke] of [
    [4.5, '#fff'],
    [2, color],
  ] as const) {
    g.lineWidth = width;
    g.strokeStyle = stroke;
    g.beginPath();
    g.moveTo(fx + ux * 7, fy + uy * 7);
    g.lineTo(endX, endY);
    g.stroke();
  }
  g.fillStyle = color;
  g.beginPath();
  g.moveTo(endX, endY);
  g.lineTo(endX - ux * head - uy * head * 0.5, endY - uy * head + ux * head * 0.5);
  g.lineTo(endX - ux * head + uy * head * 0.5, endY - uy * head - ux * head * 0.5);
  g.closePath();
  g.fill();
}

function diamond(g: CanvasRenderingContext2D, x: number, y: number, color: string): void {
  g.beginPath();
  g.moveTo(x, y - 7);
  g.lineTo(x + 7, y);
  g.lineTo(x, y + 7);
  g.lineTo(x - 7, y);
  g.closePath();
  g.fillStyle = color;
  g.fill();
  g.lineWidth = 1.5;
  g.strokeStyle = '#fff';
  g.stroke();
}

function hslToHex(h: number, s: number, l: number): string {
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(c * 255)
      .toString(16)
      .padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}
