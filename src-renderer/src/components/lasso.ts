// Picking on the Map, in data coordinates: the points a lasso encloses, and the point nearest a click.

/** Indices of the points inside `polygon` (even-odd rule), in index order; polygons under 3 vertices enclose nothing. */
export function pointsInPolygon(x: Float32Array, y: Float32Array, polygon: readonly (readonly [number, number])[]): number[] {
  if (polygon.length < 3) return [];
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [px, py] of polygon) {
    minX = Math.min(minX, px);
    maxX = Math.max(maxX, px);
    minY = Math.min(minY, py);
    maxY = Math.max(maxY, py);
  }
  const inside: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const px = x[i];
    const py = y[i];
    if (px < minX || px > maxX || py < minY || py > maxY) continue;
    let odd = false;
    for (let a = 0, b = polygon.length - 1; a < polygon.length; b = a++) {
      const [ax, ay] = polygon[a];
      const [bx, by] = polygon[b];
      if (ay > py !== by > py && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) odd = !odd;
    }
    if (odd) inside.push(i);
  }
  return inside;
}

/** The index of the point nearest (px, py) within `radius`, or -1. */
export function nearestPoint(x: Float32Array, y: Float32Array, px: number, py: number, radius: number): number {
  let best = -1;
  let bestDistance = radius * radius;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] - px) ** 2 + (y[i] - py) ** 2;
    if (d <= bestDistance) {
      best = i;
      bestDistance = d;
    }
  }
  return best;
}
