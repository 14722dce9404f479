import { describe, expect, it } from 'vitest';
import { JsonLimitError, jsonLimitProblem, maxJsonDepth, maxJsonMembers, maxJsonTokens, parseBoundedJson } from './bounded-json.ts';

const cpuMsOf = (work: () => void) => {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

describe('bounded JSON', () => {
  it('parses what is within the caps, strings with brackets, commas and escapes included', () => {
    const body = { a: [1, 2, { b: 'x,]}[{"\\' }], c: '\\"', d: Array.from({ length: maxJsonMembers }, (_, i) => i) };
    expect(parseBoundedJson(JSON.stringify(body))).toEqual(body);
    const deepest = '['.repeat(maxJsonDepth) + ']'.repeat(maxJsonDepth);
    expect(jsonLimitProblem(deepest)).toBeUndefined();
  });

  it('refuses nesting, members and tokens past the caps before parsing', () => {
    expect(() => parseBoundedJson('['.repeat(maxJsonDepth + 1) + ']'.repeat(maxJsonDepth + 1))).toThrow(JsonLimitError);
    expect(jsonLimitProblem(JSON.stringify(Array.from({ length: maxJsonMembers + 1 }, () => 0)))).toMatch(/members/);
    const wide = Object.fromEntries(Array.from({ length: maxJsonMembers + 1 }, (_, i) => [`k${i}`, i]));
    expect(jsonLimitProblem(JSON.stringify(wide))).toMatch(/members/);
    const many = JSON.stringify(Array.from({ length: 40 }, () => Array.from({ length: 600 }, () => 0)));
    expect(jsonLimitProblem(many)).toMatch(/strings, escapes and separators/);
    expect(jsonLimitProblem('""'.repeat(maxJsonTokens + 1))).toMatch(/strings, escapes and separators/);
    expect(jsonLimitProblem(`"${'\\"'.repeat(maxJsonTokens)}"`)).toMatch(/strings, escapes and separators/);
    expect(jsonLimitProblem(`"${'\\n'.repeat(maxJsonTokens - 2)}"`)).toBeUndefined();
  });

  it('text that is not JSON is left to JSON.parse to refuse', () => {
    expect(() => parseBoundedJson('{"a":')).toThrow(SyntaxError);
    expect(() => parseBoundedJson('"unterminated')).toThrow(SyntaxError);
  });

  it('a 1 MiB body of any shape costs a few milliseconds at most', () => {
    const mib = 1024 * 1024;
    const shapes = [
      '['.repeat(mib / 2) + ']'.repeat(mib / 2),
      `{${Array.from({ length: 100_000 }, (_, i) => `"${i.toString(36)}":0`).join(',')}}`,
      `[${'0,'.repeat(mib / 2 - 1)}0]`,
      `"${'\\"'.repeat(mib / 2 - 1)}"`,
      `"${'x'.repeat(mib - 2)}`,
      ' '.repeat(mib),
      '""'.repeat(mib / 2),
    ];
    for (const shape of shapes) {
      for (let warm = 0; warm < 3; warm++) jsonLimitProblem(shape);
      const cost = Math.min(...Array.from({ length: 5 }, () => cpuMsOf(() => jsonLimitProblem(shape))));
      expect(cost, shape.slice(0, 40)).toBeLessThan(5);
    }
  });
});
