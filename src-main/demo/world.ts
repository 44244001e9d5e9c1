// The demo's synthetic world: one coloured shape on a dark, slightly textured background.
// A concept is a (colour, shape) pair; everything else (size, position, rotation, shading,
// background, noise) is nuisance the vision encoder must learn to ignore. Images are rendered
// with 4×4 supersampling so edges look like a downscaled photo rather than a pixel mask.
import { mulberry32, normalSampler } from '../clip/random';

/** Plain colour words and the sRGB (0–1) each is painted in, before jitter. */
export const COLOURS = {
  red: [0.86, 0.14, 0.14],
  orange: [0.96, 0.55, 0.1],
  yellow: [0.95, 0.87, 0.15],
  green: [0.18, 0.68, 0.22],
  blue: [0.16, 0.33, 0.9],
  purple: [0.56, 0.22, 0.76],
  pink: [0.97, 0.5, 0.75],
  white: [0.94, 0.94, 0.94],
} as const satisfies Record<string, readonly [number, number, number]>;

export type Colour = keyof typeof COLOURS;

/**
 * Plain shape words with an inside test in shape coordinates (unit radius, y up) and the
 * rotation each tolerates: a square turned 45° would be a diamond, a cross turned 45° a saltire.
 */
export const SHAPES = {
  circle: { maxTurn: Math.PI, inside: (x: number, y: number) => x * x + y * y <= 1 },
  ring: {
    maxTurn: Math.PI,
    inside: (x: number, y: number) => {
      const r2 = x * x + y * y;
      return r2 <= 1 && r2 >= 0.36;
    },
  },
  square: { maxTurn: 0.15, inside: (x: number, y: number) => Math.abs(x) <= 0.8 && Math.abs(y) <= 0.8 },
  diamond: { maxTurn: 0.15, inside: (x: number, y: number) => Math.abs(x) / 0.7 + Math.abs(y) <= 1 },
  triangle: { maxTurn: 0.15, inside: insideTriangle },
  star: { maxTurn: 0.15, inside: insideStar },
  cross: { maxTurn: 0.15, inside: (x: number, y: number) => (Math.abs(x) <= 0.3 && Math.abs(y) <= 0.95) || (Math.abs(y) <= 0.3 && Math.abs(x) <= 0.95) },
} as const satisfies Record<string, { maxTurn: number; inside: (x: number, y: number) => boolean }>;

export type Shape = keyof typeof SHAPES;

export const COLOUR_NAMES = Object.keys(COLOURS) as Colour[];
export const SHAPE_NAMES = Object.keys(SHAPES) as Shape[];

export interface Concept {
  colour: Colour;
  shape: Shape;
}

/** Size words captions may use, by the shape's radius as a fraction of the image side. */
export const SIZE_WORDS = { small: 0.34, large: 0.41 } as const;
export type SizeWord = keyof typeof SIZE_WORDS;
/** Shape radius as a fraction of the image side. */
const RADIUS_RANGE: [number, number] = [0.3, 0.45];
/** Largest offset of the shape's centre from the image centre, as a fraction of the side. */
const MAX_SHIFT = 0.08;
const SUPERSAMPLE = 4;
/** Every shape lies within this radius in shape coordinates (the square's corners reach 0.8·√2). */
export const SHAPE_BOUND = 1.15;

export interface Scene extends Concept {
  /** Centre and radius in pixels. */
  cx: number;
  cy: number;
  radius: number;
  /** Radians, counter-clockwise. */
  angle: number;
  /** Shape colour after jitter, 0–1. */
  paint: [number, number, number];
  /** Background base colour, 0–1, and a linear gradient across it. */
  background: [number, number, number];
  gradient: [number, number];
  /** Per-pixel noise standard deviation. */
  noise: number;
  /** Seed of the per-pixel noise. */
  noiseSeed: number;
}

export function isColour(word: string): word is Colour {
  return Object.hasOwn(COLOURS, word);
}

export function isShape(word: string): word is Shape {
  return Object.hasOwn(SHAPES, word);
}

/** Every concept of the world, colour-major. */
export function allConcepts(): Concept[] {
  return COLOUR_NAMES.flatMap((colour) => SHAPE_NAMES.map((shape) => ({ colour, shape })));
}

/** Samples the nuisance of one image of `concept` at `size` px. */
export function sampleScene(concept: Concept, size: number, random: () => number): Scene {
  const normal = normalSampler(random);
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * random();
  const radius = uniform(RADIUS_RANGE[0], RADIUS_RANGE[1]) * size;
  const shift = MAX_SHIFT * size;
  const base = COLOURS[concept.colour];
  const brightness = uniform(0.85, 1.08);
  const paint = base.map((c) => clamp01(c * brightness + normal() * 0.035)) as [number, number, number];
  const grey = uniform(0.06, 0.42);
  const background = [0, 1, 2].map(() => clamp01(grey + normal() * 0.04)) as [number, number, number];
  return {
    ...concept,
    cx: size / 2 + uniform(-shift, shift),
    cy: size / 2 + uniform(-shift, shift),
    radius,
    angle: uniform(-1, 1) * SHAPES[concept.shape].maxTurn,
    paint,
    background,
    gradient: [normal() * 0.06, normal() * 0.06],
    noise: uniform(0.005, 0.03),
    noiseSeed: Math.floor(random() * 2 ** 32),
  };
}

/** The size word a caption may use for this scene, if any. */
export function sizeWord(scene: Scene, size: number): SizeWord | null {
  const r = scene.radius / size;
  if (r <= SIZE_WORDS.small) return 'small';
  if (r >= SIZE_WORDS.large) return 'large';
  return null;
}

/** Renders a scene as interleaved 8-bit RGB, `size`×`size`. */
export function renderScene(scene: Scene, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const inside = SHAPES[scene.shape].inside;
  const cos = Math.cos(-scene.angle);
  const sin = Math.sin(-scene.angle);
  const noise = normalSampler(mulberry32(scene.noiseSeed));
  const samples = SUPERSAMPLE * SUPERSAMPLE;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let covered = 0;
      // Pixels whose every subsample lies beyond the shape's bounding circle are pure background.
      const far = Math.hypot(px + 0.5 - scene.cx, py + 0.5 - scene.cy) > SHAPE_BOUND * scene.radius + Math.SQRT1_2;
      for (let sy = 0; sy < SUPERSAMPLE && !far; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const dx = (px + (sx + 0.5) / SUPERSAMPLE - scene.cx) / scene.radius;
          const dy = (scene.cy - (py + (sy + 0.5) / SUPERSAMPLE)) / scene.radius;
          if (inside(dx * cos - dy * sin, dx * sin + dy * cos)) covered++;
        }
      }
      const alpha = covered / samples;
      const shade = scene.gradient[0] * (px / size - 0.5) + scene.gradient[1] * (py / size - 0.5);
      const n = noise() * scene.noise;
      for (let c = 0; c < 3; c++) {
        const bg = scene.background[c] + shade;
        const value = bg * (1 - alpha) + scene.paint[c] * alpha + n;
        out[(py * size + px) * 3 + c] = Math.round(clamp01(value) * 255);
      }
    }
  }
  return out;
}

function insideTriangle(x: number, y: number): boolean {
  // Equilateral, pointing up, inscribed in the unit circle.
  const h = 0.5;
  if (y < -h) return false;
  return Math.abs(x) <= ((1 - y) / 1.5) * (Math.sqrt(3) / 2);
}

const STAR_POINTS = 5;
const STAR_INNER = 0.42;
function insideStar(x: number, y: number): boolean {
  const r = Math.hypot(x, y);
  if (r > 1) return false;
  if (r <= STAR_INNER * Math.cos(Math.PI / STAR_POINTS)) return true;
  // Angle from the upward point, folded into one half-sector.
  const sector = (2 * Math.PI) / STAR_POINTS;
  let a = Math.atan2(x, y) % sector;
  if (a < 0) a += sector;
  if (a > sector / 2) a = sector - a;
  // The edge runs from the tip (radius 1, angle 0) to the notch (radius STAR_INNER, angle sector/2).
  const tip = [0, 1];
  const notch = [STAR_INNER * Math.sin(sector / 2), STAR_INNER * Math.cos(sector / 2)];
  const px = r * Math.sin(a);
  const py = r * Math.cos(a);
  const cross = (notch[0] - tip[0]) * (py - tip[1]) - (notch[1] - tip[1]) * (px - tip[0]);
  return cross <= 0;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : Math.min(v, 1);
}
