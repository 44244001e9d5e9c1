// Argument parsing and the Command shape shared by every `lamm` command. It lives here, not in
// cli.ts, so commands never import the entry point that imports them.

export interface ParsedArgs {
  /** Positional arguments after the command name. */
  positional: string[];
  /** --key value and --flag (true) options; repeated keys keep the last value. */
  options: Record<string, string | true>;
}

export interface Command {
  /** Flags and positionals, shown in `lamm --help`. */
  usage: string;
  /** Options of this command that never take a value, so `--force IMAGE` keeps IMAGE positional. */
  switches?: readonly string[];
  /** Returns the JSON result (printed whole with --json), or undefined for commands that stream their own output. */
  run(args: ParsedArgs): Promise<unknown>;
  /** Human-readable printing without --json; defaults to pretty JSON. */
  print?(result: unknown): void;
}

/** Switches every command accepts. */
export const COMMON_SWITCHES: readonly string[] = ['json', 'help'];

export function parseArgs(argv: string[], switches: readonly string[] = COMMON_SWITCHES): ParsedArgs {
  const isSwitch = new Set([...COMMON_SWITCHES, ...switches]);
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
        if (!isSwitch.has(key) && next !== undefined && !next.startsWith('--')) {
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
  if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)))
    throw new UsageError(`--${key} must be ${opts.integer ? 'an integer' : 'a number'}, got "${v}"`);
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`--${key} must be at least ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new UsageError(`--${key} must be at most ${opts.max}, got ${n}`);
  return n;
}
