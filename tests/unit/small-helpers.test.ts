// The one-of-each helpers that replaced copies: an error's first line, the one-{} template
// check, argmax.
import { describe, expect, it } from 'vitest';
import { firstLine } from '../../src-main/errors';
import { checkTemplate } from '../../src-main/lamm/config';
import { argmax } from '../../src-main/lamm/evaluate';

describe('small helpers', () => {
  it('firstLine keeps the first line of any thrown value', () => {
    expect(firstLine(new Error('out of memory\n    at somewhere'))).toBe('out of memory');
    expect(firstLine('plain\ntext')).toBe('plain');
    expect(firstLine({ message: 'from a library\ndetail' })).toBe('from a library');
    expect(firstLine(42)).toBe('42');
    expect(firstLine(null)).toBe('null');
  });

  it('checkTemplate wants "{}" exactly once', () => {
    expect(() => checkTemplate('a photo of a {}.')).not.toThrow();
    expect(() => checkTemplate('a photo')).toThrow('template "a photo" must contain "{}" exactly once');
    expect(() => checkTemplate('{} and {}')).toThrow('exactly once');
  });

  it('argmax gives the first of the largest values', () => {
    expect(argmax([0.1, 0.7, 0.2])).toBe(1);
    expect(argmax(Float32Array.from([3, 5, 5]))).toBe(1);
    expect(argmax([])).toBe(-1);
  });
});
