// `lamm <command>`: the headless twin of the app. With --json, stdout carries exactly one JSON
// object; progress and logs go to stderr. Bad input exits non-zero with a one-line reason.
import { commands } from './commands';

export interface ParsedArgs {
  /** Positional arguments after the command name. */
  positional: string[];
  /** --key value and --flag (true) options; repeated keys keep the last value. */
  options: Record<string, string | true>;
}

/** Options that never take a value, so `--json IMAGE` keeps IMAGE positional. */
const BOOLEAN_FLAGS = new Set(['json', 'help', 'force', 'no-auth', 'online-augment', 'ensemble', 'no-open', 'demo', 'pretrain', 'check']);

export function parseArgs(argv: string[]): ParsedArgs {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) {
        options[a.slice(2, eq)] = a.slice(eq + 1);
      } else {
        const key = a.slice(2);
        const next = argv[i + 1];
        if (!BOOLEAN_FLAGS.has(key) && next !== undefined && !next.startsWith('--')) {
          options[key] = next;
          i++;
        } else {
          options[key] = true;
        }
      }
    } else {
      positional.push(a);
    }
  }
  return { positional, options };
}

export class UsageError extends Error {}

export function requireString(args: ParsedArgs, key: string): string {
  const v = args.options[key];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${key} is required`);
  return v;
}

export function optionalString(args: ParsedArgs, key: string): string | undefined {
  const v = args.options[key];
  if (v === true) throw new UsageError(`--${key} needs a value`);
  return v;
}

export function optionalNumber(args: ParsedArgs, key: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  const v = optionalString(args, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) throw new UsageError(`--${key} must be ${opts.integer ? 'an integer' : 'a number'}, got "${v}"`);
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`--${key} must be at least ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${key} must be at most ${opts.max}, got ${n}`);
  return n;
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  lamm ${name} ${c.usage}`);
  return `usage:\n${lines.join('\n')}\n\nAdd --json for one JSON object on stdout.`;
}

function printHuman(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`lamm: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  const args = parseArgs(rest);
  if (args.options.help) {
    process.stdout.write(`lamm ${name} ${command.usage}\n`);
    return 0;
  }
  try {
    const result = await command.run(args);
    if (result === undefined) return 0; // long-running commands (serve) print their own output
    if (args.options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (command.print) command.print(result);
    else printHuman(result);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`lamm ${name}: ${message.split('\n')[0]}\n`);
    if (process.env.LAMM_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
