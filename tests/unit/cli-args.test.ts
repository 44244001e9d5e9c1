import { describe, expect, it } from 'vitest';
import { optionalNumber, optionalString, parseArgs, requireString, UsageError } from '../../src-main/commands/args';
import { commands } from '../../src-main/commands';

describe('parseArgs', () => {
  it('splits positionals from --key value, --key=value and switches', () => {
    const args = parseArgs(['--model', 'M', 'a', '--k=5', 'b', '--json'], []);
    expect(args).toEqual({ positional: ['a', 'b'], options: { model: 'M', k: '5', json: true } });
  });

  it("keeps a command's switches from swallowing the next positional", () => {
    expect(parseArgs(['--force', 'img.png'], ['force']).positional).toEqual(['img.png']);
    expect(parseArgs(['--force', 'img.png'], []).options.force).toBe('img.png');
  });

  it('takes everything after -- as positional and treats a trailing flag as a switch', () => {
    expect(parseArgs(['--x', '--', '--not-a-flag', 'y'])).toEqual({ positional: ['--not-a-flag', 'y'], options: { x: true } });
  });

  it('keeps the last value of a repeated key', () => {
    expect(parseArgs(['--seed', '1', '--seed', '2']).options.seed).toBe('2');
  });

  it('gives one-line usage errors for missing and malformed values', () => {
    const args = parseArgs(['--k', 'x', '--flag', '--n', '3']);
    expect(() => requireString(args, 'model')).toThrow(new UsageError('--model is required'));
    expect(() => optionalString(args, 'flag')).toThrow('--flag needs a value');
    expect(() => optionalNumber(args, 'k')).toThrow('--k must be a number, got "x"');
    expect(() => optionalNumber(args, 'n', { min: 4 })).toThrow('--n must be at least 4, got 3');
    expect(optionalNumber(args, 'n', { integer: true })).toBe(3);
  });

  it("declares every command's switches as option names its usage shows", () => {
    for (const [name, command] of Object.entries(commands)) {
      for (const s of command.switches ?? []) expect(command.usage, `${name} --${s}`).toContain(`--${s}`);
    }
  });
});
