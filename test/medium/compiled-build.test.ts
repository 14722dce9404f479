import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freshCompiledFileOf } from '../../bin/compiled-build.mjs';

// bin/paythrough.mjs runs dist/ only while it is as new as every source: an edited checkout must never run stale code.
describe('the compiled server is used only while it is fresh', () => {
  const roots: string[] = [];
  afterEach(() => roots.splice(0).forEach((root) => rmSync(root, { recursive: true, force: true })));

  function checkout(files: Record<string, number>): string {
    const root = mkdtempSync(path.join(tmpdir(), 'paythrough-build-'));
    roots.push(root);
    for (const [file, secondsAgo] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), '');
      const at = new Date(Date.now() - secondsAgo * 1000);
      utimesSync(path.join(root, file), at, at);
    }
    return root;
  }

  it('takes dist/ when it is newer than every source, nested folders included', () => {
    const root = checkout({ 'src/cli/main.ts': 60, 'src/deep/er/module.ts': 50, 'dist/src/cli/main.js': 10 });
    expect(freshCompiledFileOf('src/cli/main.ts', ['src'], root)).toBe(path.join(root, 'dist/src/cli/main.js'));
  });

  it('falls back to the sources when any source is newer, or when nothing was built', () => {
    expect(
      freshCompiledFileOf(
        'src/cli/main.ts',
        ['src'],
        checkout({ 'src/cli/main.ts': 60, 'src/deep/er/module.ts': 5, 'dist/src/cli/main.js': 10 }),
      ),
    ).toBeNull();
    expect(freshCompiledFileOf('src/cli/main.ts', ['src'], checkout({ 'src/cli/main.ts': 60 }))).toBeNull();
  });

  it('looks at every folder it is given and only at TypeScript files', () => {
    const root = checkout({ 'src/a.ts': 60, 'bench/records-export.ts': 5, 'src/notes.md': 1, 'dist/bench/records-export.js': 10 });
    expect(freshCompiledFileOf('bench/records-export.ts', ['src'], root)).not.toBeNull();
    expect(freshCompiledFileOf('bench/records-export.ts', ['src', 'bench'], root)).toBeNull();
  });
});
