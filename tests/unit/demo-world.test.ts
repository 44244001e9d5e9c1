// The demo world: deterministic rendering, shapes and colours that are what their names say,
// and captions whose every word the demo vocabulary was built from.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src-main/clip/random';
import { captionFor, captionWords } from '../../src-main/demo/captions';
import {
  COLOURS,
  COLOUR_NAMES,
  SHAPES,
  SHAPE_BOUND,
  SHAPE_NAMES,
  SIZE_WORDS,
  allConcepts,
  renderScene,
  sampleScene,
  sizeWord,
  type Concept,
  type Scene,
} from '../../src-main/demo/world';

const SIZE = 32;

function scene(concept: Concept, seed: number): Scene {
  return sampleScene(concept, SIZE, mulberry32(seed));
}

/** Fraction of the unit disc's bounding square an inside test covers (grid estimate). */
function coverage(inside: (x: number, y: number) => boolean): number {
  let n = 0;
  const steps = 200;
  for (let i = 0; i < steps; i++) for (let j = 0; j < steps; j++) if (inside(-1 + (2 * (i + 0.5)) / steps, -1 + (2 * (j + 0.5)) / steps)) n++;
  return n / (steps * steps);
}

describe('demo world', () => {
  it('has every colour × shape concept once', () => {
    const concepts = allConcepts();
    expect(concepts).toHaveLength(COLOUR_NAMES.length * SHAPE_NAMES.length);
    expect(new Set(concepts.map((c) => `${c.colour} ${c.shape}`)).size).toBe(concepts.length);
  });

  it('renders the same pixels for the same seed and different ones for another', () => {
    const a = renderScene(scene({ colour: 'red', shape: 'star' }, 3), SIZE);
    expect(a).toHaveLength(SIZE * SIZE * 3);
    expect(renderScene(scene({ colour: 'red', shape: 'star' }, 3), SIZE)).toEqual(a);
    expect(renderScene(scene({ colour: 'red', shape: 'star' }, 4), SIZE)).not.toEqual(a);
  });

  it('gives each shape its own silhouette', () => {
    const areas = Object.fromEntries(SHAPE_NAMES.map((s) => [s, coverage(SHAPES[s].inside)]));
    expect(areas.circle).toBeCloseTo(Math.PI / 4, 2);
    expect(areas.ring).toBeCloseTo((Math.PI / 4) * (1 - 0.36), 2);
    expect(areas.square).toBeCloseTo(0.64, 2);
    expect(areas.diamond).toBeCloseTo(0.35, 2);
    // The star: five thin points around a pentagon, much less than the disc it sits in.
    expect(areas.star).toBeGreaterThan(0.2);
    expect(areas.star).toBeLessThan(0.4);
    for (const s of SHAPE_NAMES) expect(areas[s]).toBeGreaterThan(0.05);
    // The renderer skips pixels beyond SHAPE_BOUND: no shape may reach past it.
    for (const s of SHAPE_NAMES) {
      for (let i = 0; i <= 260; i++) {
        for (let j = 0; j <= 260; j++) {
          const x = -1.3 + i / 100;
          const y = -1.3 + j / 100;
          if (SHAPES[s].inside(x, y)) expect(Math.hypot(x, y), s).toBeLessThanOrEqual(SHAPE_BOUND);
        }
      }
    }
  });

  it('paints the shape in its colour over a darker background', () => {
    for (const colour of COLOUR_NAMES) {
      const s = scene({ colour, shape: 'square' }, 11);
      const px = renderScene(s, SIZE);
      // The centre pixel lies inside a square of radius ≥ 0.27·32 around a centre within ±(16 − 0.9r).
      const cx = Math.round(s.cx - 0.5);
      const cy = Math.round(s.cy - 0.5);
      const at = (cy * SIZE + cx) * 3;
      const centre = [px[at], px[at + 1], px[at + 2]].map((v) => v / 255);
      COLOURS[colour].forEach((c, k) => expect(Math.abs(centre[k] - c)).toBeLessThan(0.25));
    }
  });

  it('names sizes only at the ends of the size range', () => {
    const words = new Set<string | null>();
    for (let i = 0; i < 200; i++) words.add(sizeWord(scene({ colour: 'blue', shape: 'circle' }, i), SIZE));
    expect(words).toEqual(new Set([null, ...Object.keys(SIZE_WORDS)]));
  });
});

describe('demo captions', () => {
  it('always name the colour and shape, using only the listed words', () => {
    const vocabulary = new Set(captionWords());
    const random = mulberry32(5);
    const templates = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const concepts = allConcepts();
      const concept = concepts[i % concepts.length];
      const text = captionFor(concept, i % 3 === 0 ? 'small' : null, random);
      expect(text).toContain(concept.colour);
      expect(text).toContain(concept.shape);
      for (const w of text.match(/[a-z]+/g)!) expect(vocabulary.has(w), `${w} in "${text}"`).toBe(true);
      templates.add(text.replace(concept.colour, 'C').replace(concept.shape, 'S').replace('small ', ''));
    }
    expect(templates.size).toBeGreaterThan(5);
    expect(templates.has('a photo of a C S.')).toBe(true);
  });
});
