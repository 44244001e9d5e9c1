// `lamm tokenize | embed-text | embed-image` (DESIGN §5).
import fs from 'node:fs';
import path from 'node:path';
import { startBackend } from './engine';
import { requireString, UsageError, type ParsedArgs, type Command } from './args';
import { parseClipConfig, readJsonFile } from '../clip/config';
import { ClipTokenizer } from '../clip/tokenizer';
import { embedImages, embedTexts, loadClip, type ClipModel } from '../clip';
import { stderrContext } from '../jobs/context';

function positionals(args: ParsedArgs, what: string): string[] {
  if (args.positional.length === 0) throw new UsageError(`give at least one ${what}`);
  return args.positional;
}

async function withModel<T>(args: ParsedArgs, use: (model: ClipModel) => Promise<T>): Promise<T> {
  await startBackend();
  const model = await loadClip(requireString(args, 'model'));
  try {
    return await use(model);
  } finally {
    model.dispose();
  }
}

const round = (rows: Float32Array[]) => rows.map((r) => Array.from(r));

export const tokenize: Command = {
  usage: '--model DIR TEXT...',
  async run(args) {
    const texts = positionals(args, 'text');
    // Tokenizing needs only the vocabulary, not the weights.
    const folder = requireString(args, 'model');
    const tokenizer = ClipTokenizer.fromFolder(folder);
    const configFile = path.join(folder, 'config.json');
    const context = fs.existsSync(configFile) ? parseClipConfig(readJsonFile(configFile, 'config.json')).text.maxPositions : undefined;
    return { ids: texts.map((t) => tokenizer.encodeWithSpecials(t, context)) };
  },
};

export const embedText: Command = {
  usage: '--model DIR TEXT...',
  async run(args) {
    const texts = positionals(args, 'text');
    return withModel(args, async (model) => ({ embeddings: round(await embedTexts(model, texts, stderrContext())) }));
  },
};

export const embedImage: Command = {
  usage: '--model DIR IMAGE...',
  async run(args) {
    const files = positionals(args, 'image file');
    return withModel(args, async (model) => ({ embeddings: round(await embedImages(model, files, stderrContext())) }));
  },
};
