// A WebGL scatterplot of up to hundreds of thousands of points (point-layer.ts) that pans (drag),
// zooms (wheel, around the pointer) and selects: a click picks the nearest point, a lasso
// (shift + drag, or the lasso mode) the points it encloses, a double click clears. A 2-D canvas on
// top draws what WebGL points cannot say: each label's zero-shot → learned arrow and its name,
// rings on flagged points, and the lasso while it is drawn. Both follow one camera.
import { useEffect, useRef, useState, type PointerEvent } from 'react';
import { nearestPoint, pointsInPolygon } from './lasso';
import { createPointLayer, type Camera, type PointLayer } from './point-layer';

/** Point marks: size (CSS px) and opacity per mark. */
export const MARKS = ['train', 'test', 'shot', 'excluded', 'flagged'] as const;
export type Mark = (typeof MARKS)[number];
const MARK_STYLE = { size: [5, 5, 9, 4, 9], opacity: [0.85, 0.45, 1, 0.12, 1] };
/** Names drawn beside label points up to this many labels; above it, only markers and arrows. */
const MAX_NAMED_LABELS = 80;
const MAX_RINGS = 5000;
const FLAGGED = MARKS.indexOf('flagged');
/** Coordinates in [-1, 1] are drawn at this scale, so points on the edge are not cut off. */
const PAD = 0.92;
/** A press that moves less than this (CSS px) is a click; a click picks a point within PICK_PX. */
const CLICK_PX = 4;
const PICK_PX = 8;
/** Zoom per wheel pixel, and how far out and in it goes relative to the whole map in view. */
const ZOOM_PER_PIXEL = 0.002;
const ZOOM_RANGE = [0.5, 2000];
const LASSO_COLOR = '#228be6';

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

/** The whole [-1, 1]² map in view: what a new map and a resize start from. */
function fitCamera(width: number, height: number): Camera {
  return { centerX: 0, centerY: 0, pixelsPerUnit: Math.max(1, Math.min(width, height) / 2) };
}

type Gesture = { kind: 'pan'; startX: number; startY: number; moved: boolean; from: Camera } | { kind: 'lasso'; path: [number, number][] };

export function ScatterMap(props: ScatterMapProps) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const layer = useRef<PointLayer | null>(null);
  const camera = useRef<Camera>({ centerX: 0, centerY: 0, pixelsPerUnit: 1 });
  /** Pixels per unit with the whole map in view at the current size (null before the first layout). */
  const fitted = useRef<number | null>(null);
  const size = useRef({ width: 1, height: 1 });
  /** The positions as drawn (scaled by PAD), what picking tests against, and the flagged points that get a ring (at most MAX_RINGS). */
  const drawnXY = useRef({ x: new Float32Array(0), y: new Float32Array(0), flagged: [] as number[] });
  const selection = useRef<number[]>([]);
  const gesture = useRef<Gesture | null>(null);
  const frame = useRef(0);
  const latest = useRef(props);
  latest.current = props;
  const [drawn, setDrawn] = useState({ points: 0, arrows: 0, labels: 0 });
  const [failure, setFailure] = useState<string | null>(null);

  // Screen (CSS px from the top left) ↔ data plane (as drawn, y up).
  const toScreen = (x: number, y: number): [number, number] => {
    const c = camera.current;
    return [size.current.width / 2 + (x - c.centerX) * c.pixelsPerUnit, size.current.height / 2 - (y - c.centerY) * c.pixelsPerUnit];
  };
  const toData = (sx: number, sy: number): [number, number] => {
    const c = camera.current;
    return [c.centerX + (sx - size.current.width / 2) / c.pixelsPerUnit, c.centerY - (sy - size.current.height / 2) / c.pixelsPerUnit];
  };
  const local = (e: { clientX: number; clientY: number }): [number, number] => {
    const r = canvas.current!.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };

  const paintOverlay = () => {
    const c = overlay.current;
    if (!c) return;
    const { labels = [], data } = latest.current;
    const dpr = window.devicePixelRatio || 1;
    const { width: w, height: h } = size.current;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const at = (x: number, y: number) => toScreen(x * PAD, y * PAD);
    g.strokeStyle = '#e03131';
    g.lineWidth = 1.5;
    const drawnAt = drawnXY.current;
    for (const i of drawnAt.flagged) {
      const [x, y] = toScreen(drawnAt.x[i], drawnAt.y[i]);
      g.beginPath();
      g.arc(x, y, 7, 0, 2 * Math.PI);
      g.stroke();
    }
    let arrows = 0;
    for (const l of labels) {
      const [fx, fy] = at(l.from[0], l.from[1]);
      if (l.to) {
        const [tx, ty] = at(l.to[0], l.to[1]);
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
      if (l.to) diamond(g, ...at(l.to[0], l.to[1]), l.color);
    }
    if (labels.length <= MAX_NAMED_LABELS) {
      g.font = '600 12px system-ui, sans-serif';
      g.textBaseline = 'middle';
      for (const l of labels) {
        const [x, y] = at(...(l.to ?? l.from));
        g.lineWidth = 3;
        g.strokeStyle = 'rgba(255,255,255,0.9)';
        g.strokeText(l.name, x + 10, y);
        g.fillStyle = '#1a1b1e';
        g.fillText(l.name, x + 10, y);
      }
    }
    const lasso = gesture.current?.kind === 'lasso' ? gesture.current.path : null;
    if (lasso && lasso.length > 1) {
      g.beginPath();
      g.moveTo(...lasso[0]);
      for (const p of lasso) g.lineTo(...p);
      g.fillStyle = 'rgba(34, 139, 230, 0.08)';
      g.fill();
      g.lineWidth = 1.5;
      g.strokeStyle = LASSO_COLOR;
      g.stroke();
    }
    setDrawn((d) =>
      d.arrows === arrows && d.labels === labels.length && d.points === data.x.length ? d : { points: data.x.length, arrows, labels: labels.length },
    );
  };

  /** Points and overlay together, at most once a frame. */
  const schedule = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      layer.current?.draw(camera.current);
      paintOverlay();
    });
  };

  const select = (indices: number[]) => {
    selection.current = indices;
    layer.current?.setSelected(indices);
    latest.current.onSelect?.(indices);
    schedule();
  };

  // One point layer per mounted component.
  // biome-ignore lint/correctness/useExhaustiveDependencies: created once; later props go through the effects below
  useEffect(() => {
    const b = box.current!;
    const c = canvas.current!;
    try {
      layer.current = createPointLayer(c, MARK_STYLE);
    } catch (e) {
      // No WebGL2: say so instead of a blank app.
      setFailure(`the map cannot be drawn here: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const lost = (e: Event) => {
      e.preventDefault();
      setFailure('the map cannot be drawn here: the WebGL context was lost (open the page again)');
    };
    c.addEventListener('webglcontextlost', lost);
    // Not React's onWheel: that listener is passive, and the page would scroll while the map zooms.
    const wheel = (e: WheelEvent) => {
      e.preventDefault();
      zoom.current(e);
    };
    c.addEventListener('wheel', wheel, { passive: false });
    const resize = new ResizeObserver(() => {
      const { clientWidth: width, clientHeight: height } = b;
      const fit = fitCamera(width, height);
      // Keep the zoom relative to the whole map, so a resize does not change what is in view.
      if (fitted.current === null) camera.current = fit;
      else camera.current.pixelsPerUnit *= fit.pixelsPerUnit / fitted.current;
      fitted.current = fit.pixelsPerUnit;
      size.current = { width, height };
      layer.current?.resize(width, height, window.devicePixelRatio || 1);
      schedule();
    });
    resize.observe(b);
    return () => {
      resize.disconnect();
      c.removeEventListener('webglcontextlost', lost);
      c.removeEventListener('wheel', wheel);
      cancelAnimationFrame(frame.current);
      frame.current = 0;
      layer.current?.destroy();
      layer.current = null;
    };
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: new points or colours redraw (the same points keep their selection)
  useEffect(() => {
    const l = layer.current;
    if (!l) return;
    const { data, colors } = props;
    const x = data.x.map((v) => v * PAD);
    const y = data.y.map((v) => v * PAD);
    const flagged: number[] = [];
    for (let i = 0; i < data.mark.length && flagged.length < MAX_RINGS; i++) if (data.mark[i] === FLAGGED) flagged.push(i);
    drawnXY.current = { x, y, flagged };
    l.setPalette(colors);
    l.setPoints(x, y, data.color, data.mark);
    if (selection.current.some((i) => i >= x.length)) select([]);
    else l.setSelected(selection.current);
    schedule();
  }, [props.data, props.colors]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the overlay repaints for new labels
  useEffect(() => schedule(), [props.labels]);

  const onPointerDown = (e: PointerEvent<HTMLCanvasElement>) => {
    if (e.button !== 0 || !layer.current) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const [sx, sy] = local(e);
    gesture.current =
      props.lasso || e.shiftKey ? { kind: 'lasso', path: [[sx, sy]] } : { kind: 'pan', startX: sx, startY: sy, moved: false, from: { ...camera.current } };
  };
  const onPointerMove = (e: PointerEvent<HTMLCanvasElement>) => {
    const g = gesture.current;
    if (!g) return;
    const [sx, sy] = local(e);
    if (g.kind === 'lasso') {
      const [lx, ly] = g.path[g.path.length - 1];
      if (Math.hypot(sx - lx, sy - ly) >= 2) g.path.push([sx, sy]);
    } else {
      g.moved ||= Math.hypot(sx - g.startX, sy - g.startY) >= CLICK_PX;
      if (!g.moved) return;
      camera.current = {
        ...g.from,
        centerX: g.from.centerX - (sx - g.startX) / g.from.pixelsPerUnit,
        centerY: g.from.centerY + (sy - g.startY) / g.from.pixelsPerUnit,
      };
    }
    schedule();
  };
  const onPointerUp = (e: PointerEvent<HTMLCanvasElement>) => {
    const g = gesture.current;
    gesture.current = null;
    if (!g) return;
    const { x, y } = drawnXY.current;
    if (g.kind === 'lasso') {
      if (g.path.length >= 3)
        select(
          pointsInPolygon(
            x,
            y,
            g.path.map(([sx, sy]) => toData(sx, sy)),
          ),
        );
      else schedule();
    } else if (!g.moved) {
      const [px, py] = toData(...local(e));
      const hit = nearestPoint(x, y, px, py, PICK_PX / camera.current.pixelsPerUnit);
      if (hit >= 0) select([hit]);
    }
  };
  const zoom = useRef((_: WheelEvent) => {});
  zoom.current = (e) => {
    const [sx, sy] = local(e);
    const [px, py] = toData(sx, sy);
    const c = camera.current;
    const fit = fitted.current ?? c.pixelsPerUnit;
    const pixels = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? size.current.height : 1);
    const ppu = Math.min(ZOOM_RANGE[1] * fit, Math.max(ZOOM_RANGE[0] * fit, c.pixelsPerUnit * Math.exp(-pixels * ZOOM_PER_PIXEL)));
    // The data point under the pointer stays under it.
    camera.current = {
      pixelsPerUnit: ppu,
      centerX: px - (sx - size.current.width / 2) / ppu,
      centerY: py + (sy - size.current.height / 2) / ppu,
    };
    schedule();
  };

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
      <canvas
        ref={canvas}
        style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', touchAction: 'none', cursor: props.lasso ? 'crosshair' : 'grab' }}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => {
          gesture.current = null;
          schedule();
        }}
        onDoubleClick={() => select([])}
      />
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
