// `lamm <command>`: the headless twin of the app. With --json, stdout carries exactly one JSON
// object; progress and logs go to stderr. Bad input exits non-zero with a one-line reason.
import { parseArgs, UsageError } from './commands/args';
import { commands } from './commands';
import { firstLine } from './errors';

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
  const args = parseArgs(rest, command.switches);
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
    process.stderr.write(`lamm ${name}: ${firstLine(err)}\n`);
    if (process.env.LAMM_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
