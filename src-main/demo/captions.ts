// Captions for the demo world's images. Half use the zero-shot template ("a photo of a …."),
// so the text encoder knows it well; the rest vary the wording and the word order so colour
// and shape words are learned as words, not as positions.
import { COLOUR_NAMES, SHAPE_NAMES, SIZE_WORDS, type Concept, type SizeWord } from './world';

/** `{}` is the concept phrase ("red circle", "small red circle"); `{colour}`/`{shape}` place words apart. */
const TEMPLATES: { text: string; weight: number }[] = [
  { text: 'a photo of a {}.', weight: 8 },
  { text: 'a photo of the {}.', weight: 1 },
  { text: 'a picture of a {}.', weight: 1 },
  { text: 'an image of a {}.', weight: 1 },
  { text: 'a drawing of a {}.', weight: 1 },
  { text: 'a {}.', weight: 2 },
  { text: 'a photo of a {shape} in {colour}.', weight: 1 },
  { text: 'a {colour} shape: a {shape}.', weight: 1 },
];

const TOTAL_WEIGHT = TEMPLATES.reduce((sum, t) => sum + t.weight, 0);
/** How often a caption names the size when the scene has one. */
const SIZE_MENTION = 0.5;

export function captionFor(concept: Concept, size: SizeWord | null, random: () => number): string {
  let pick = random() * TOTAL_WEIGHT;
  const template =
    TEMPLATES.find((t) => {
      pick -= t.weight;
      return pick < 0;
    }) ?? TEMPLATES[0];
  const sized = size && random() < SIZE_MENTION ? `${size} ` : '';
  return template.text
    .replace('{}', `${sized}${concept.colour} ${concept.shape}`)
    .replace('{colour}', concept.colour)
    .replace('{shape}', `${sized}${concept.shape}`);
}

/** Every word any caption can contain (letters only; punctuation is tokenised on its own): all the demo CLIP is taught. */
export function captionWords(): string[] {
  const words = new Set<string>([...COLOUR_NAMES, ...SHAPE_NAMES, ...Object.keys(SIZE_WORDS)]);
  for (const t of TEMPLATES) for (const w of t.text.replace(/\{[a-z]*\}/g, ' ').match(/[a-z]+/g) ?? []) words.add(w);
  return [...words].sort();
}
