// bench/map's page: the app's ScatterMap component with N synthetic points (seeded Gaussian
// blobs, one per class, marks as the Map page sets them) and one zero-shot → learned arrow per class.
import { createRoot } from 'react-dom/client';
import { categoryColors, MARKS, ScatterMap, type LabelArrow, type ScatterData } from '../../src-renderer/src/components/ScatterMap';
import { mulberry32, normalSampler } from '../../src-main/clip/random';

const params = new URLSearchParams(location.search);
const n = Number(params.get('points') ?? 100_000);
const classes = Number(params.get('classes') ?? 20);
const normal = normalSampler(mulberry32(1));
const centres = Array.from({ length: classes }, () => [normal() * 0.5, normal() * 0.5]);
const data: ScatterData = { x: new Float32Array(n), y: new Float32Array(n), color: new Int32Array(n), mark: new Int32Array(n) };
for (let i = 0; i < n; i++) {
  const c = i % classes;
  data.x[i] = Math.max(-1, Math.min(1, centres[c][0] + normal() * 0.08));
  data.y[i] = Math.max(-1, Math.min(1, centres[c][1] + normal() * 0.08));
  data.color[i] = c;
  data.mark[i] = i % 97 === 0 ? MARKS.indexOf('flagged') : i % 5 === 0 ? MARKS.indexOf('test') : MARKS.indexOf('train');
}
const colors = categoryColors(classes);
const labels: LabelArrow[] = centres.map(([x, y], c) => ({ name: `class ${c}`, color: colors[c], from: [x + 0.1, y + 0.1], to: [x, y] }));
createRoot(document.getElementById('root')!).render(<ScatterMap data={data} colors={colors} labels={labels} height="100vh" testId="map-canvas" />);
