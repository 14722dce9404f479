import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCycles, importsOf, packageNameOf, readImportGraph, withoutComments, type ImportGraph } from './import-graph.ts';

describe('importsOf', () => {
  it('finds every form of import and tells type-only ones apart', () => {
    const text = `
      import { a } from './a.ts';
      import type { B } from './b.ts';
      import { type C, type D } from './c.ts';
      import { type E, f } from './e.ts';
      import g, { type G } from './g.ts';
      import * as h from './h.ts';
      import type * as I from './i.ts';
      import {} from './empty.ts';
      import './side-effect.ts';
      export { j } from './j.ts';
      export type { K } from './k.ts';
      export { type L } from './l.ts';
      export * from './all.ts';
      export type * from './all-types.ts';
      export * as ns from './ns.ts';
      const lazy = () => import('./lazy.ts');
      const computed = (name: string) => import(name);
      type Client = import('./client.ts').Client;
    `;
    expect(importsOf('src/x.ts', text)).toEqual([
      { specifier: './a.ts', kind: 'import', typeOnly: false },
      { specifier: './b.ts', kind: 'import', typeOnly: true },
      { specifier: './c.ts', kind: 'import', typeOnly: true },
      { specifier: './e.ts', kind: 'import', typeOnly: false },
      { specifier: './g.ts', kind: 'import', typeOnly: false },
      { specifier: './h.ts', kind: 'import', typeOnly: false },
      { specifier: './i.ts', kind: 'import', typeOnly: true },
      { specifier: './empty.ts', kind: 'import', typeOnly: false },
      { specifier: './side-effect.ts', kind: 'side-effect', typeOnly: false },
      { specifier: './j.ts', kind: 're-export', typeOnly: false },
      { specifier: './k.ts', kind: 're-export', typeOnly: true },
      { specifier: './l.ts', kind: 're-export', typeOnly: true },
      { specifier: './all.ts', kind: 're-export', typeOnly: false },
      { specifier: './all-types.ts', kind: 're-export', typeOnly: true },
      { specifier: './ns.ts', kind: 're-export', typeOnly: false },
      { specifier: './lazy.ts', kind: 'dynamic', typeOnly: false },
      { specifier: './client.ts', kind: 'type-query', typeOnly: true },
    ]);
  });

  it('is not fooled by comments, strings or template literals that look like imports', () => {
    const text = `
      // import { a } from './commented.ts';
      /* export * from './block.ts'; */
      const quoted = "import './quoted.ts'";
      const templated = \`import('./templated.ts')\`;
      export const real = () => import('./real.ts');
    `;
    expect(importsOf('src/x.ts', text).map((found) => found.specifier)).toEqual(['./real.ts']);
  });

  it('reads JSX files', () => {
    const text = `import { Page } from './page.tsx';\nexport const Main = () => <Page title="x" />;`;
    expect(importsOf('web/src/main.tsx', text).map((found) => found.specifier)).toEqual(['./page.tsx']);
  });
});

describe('packageNameOf', () => {
  it.each([
    ['kysely', 'kysely'],
    ['fastify', 'fastify'],
    ['fastify-plugin', 'fastify-plugin'],
    ['@fastify/static', '@fastify/static'],
    ['@tanstack/react-query/build/modern', '@tanstack/react-query'],
    ['react-dom/client', 'react-dom'],
    ['node:fs', 'node:fs'],
    ['node:fs/promises', 'node:fs'],
    ['crypto', 'node:crypto'],
  ])('%s is %s', (specifier, name) => {
    expect(packageNameOf(specifier)).toBe(name);
  });
});

describe('readImportGraph', () => {
  let root: string;
  const plant = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'paythrough-import-graph-'));
    plant('src/services/payments/index.ts', `export * from './order.service.ts';`);
    plant('src/services/payments/order.service.ts', `import type { Kysely } from 'kysely';\nexport type Db = Kysely<never>;`);
    plant(
      'src/routes/order.routes.ts',
      [
        `import { Db } from '../services/payments';`,
        `import '../services/payments/missing.ts';`,
        `import { readFileSync } from 'fs';`,
        `import { z } from 'zod';`,
      ].join('\n'),
    );
    plant('src/routes/order.routes.test.ts', `import { it } from 'vitest';`);
    plant('web/src/main.tsx', `import { Db } from '../../src/services/payments/index.ts';\nexport const Main = () => <p />;`);
    plant('web/src/styles.css', `p { color: red }`);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists the source files of the given folders, tests and non-sources aside', () => {
    expect(readImportGraph(root, ['src', 'web/src', 'missing']).files).toEqual([
      'src/routes/order.routes.ts',
      'src/services/payments/index.ts',
      'src/services/payments/order.service.ts',
      'web/src/main.tsx',
    ]);
  });

  it('resolves relative specifiers to repository-relative files and names packages', () => {
    expect(readImportGraph(root, ['src', 'web/src']).edges).toEqual([
      {
        from: 'src/routes/order.routes.ts',
        specifier: '../services/payments',
        kind: 'import',
        typeOnly: false,
        target: 'src/services/payments/index.ts',
        resolved: true,
      },
      {
        from: 'src/routes/order.routes.ts',
        specifier: '../services/payments/missing.ts',
        kind: 'side-effect',
        typeOnly: false,
        target: 'src/services/payments/missing.ts',
        resolved: false,
      },
      { from: 'src/routes/order.routes.ts', specifier: 'fs', kind: 'import', typeOnly: false, resolved: false, packageName: 'node:fs' },
      { from: 'src/routes/order.routes.ts', specifier: 'zod', kind: 'import', typeOnly: false, resolved: false, packageName: 'zod' },
      {
        from: 'src/services/payments/index.ts',
        specifier: './order.service.ts',
        kind: 're-export',
        typeOnly: false,
        target: 'src/services/payments/order.service.ts',
        resolved: true,
      },
      {
        from: 'src/services/payments/order.service.ts',
        specifier: 'kysely',
        kind: 'import',
        typeOnly: true,
        resolved: false,
        packageName: 'kysely',
      },
      {
        from: 'web/src/main.tsx',
        specifier: '../../src/services/payments/index.ts',
        kind: 'import',
        typeOnly: false,
        target: 'src/services/payments/index.ts',
        resolved: true,
      },
    ]);
  });
});

describe('findCycles', () => {
  const graphOf = (links: Record<string, string[]>, typeOnly = false): ImportGraph => ({
    files: Object.keys(links).sort(),
    edges: Object.entries(links).flatMap(([from, targets]) =>
      targets.map((target) => ({ from, specifier: target, kind: 'import' as const, typeOnly, target, resolved: true })),
    ),
  });

  it('finds nothing in a tree', () => {
    expect(findCycles(graphOf({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('reports each strongly connected component once, with one shortest loop from its first file', () => {
    const graph = graphOf({ a: ['b'], b: ['c', 'a'], c: ['d'], d: ['b'], e: ['f'], f: ['e'], g: ['g'], h: ['a'] });
    expect(findCycles(graph)).toEqual([
      { files: ['a', 'b', 'c', 'd'], loop: ['a', 'b', 'a'] },
      { files: ['e', 'f'], loop: ['e', 'f', 'e'] },
      { files: ['g'], loop: ['g', 'g'] },
    ]);
  });

  it('counts type-only imports', () => {
    expect(findCycles(graphOf({ a: ['b'], b: ['a'] }, true))).toEqual([{ files: ['a', 'b'], loop: ['a', 'b', 'a'] }]);
  });

  it('ignores edges that leave the graph', () => {
    expect(findCycles(graphOf({ a: ['outside'] }))).toEqual([]);
  });
});

describe('withoutComments', () => {
  it('blanks comments, keeps code, strings and line numbers', () => {
    const text = [
      `// db.selectFrom('a')`,
      `const a = "// kept"; /* db.selectFrom('b') */ const b = \`\${a} // kept\`;`,
      `/**`,
      ` * db.selectFrom('c')`,
      ` */`,
      `const c = /\\/\\/ kept/; // gone`,
    ].join('\n');
    const code = withoutComments('x.ts', text);
    expect(code.split('\n')).toHaveLength(6);
    expect(code).not.toContain('selectFrom');
    expect(code).not.toContain('gone');
    expect(code.match(/kept/g)).toHaveLength(3);
  });
});
