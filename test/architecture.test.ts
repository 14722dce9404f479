import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCycles, readImportGraph, withoutComments, type ImportEdge, type ImportGraph } from './architecture/import-graph.ts';

// ---------------------------------------------------------------------------------------------------------------
// The rule book. Rules are data: a new rule is one more entry here, and the fixture below must plant a breach of it.
// ---------------------------------------------------------------------------------------------------------------

const checkedFolders = ['src', 'web/src'];
// Entry points wire everything together, so no import rule applies to what they import (cycles and content rules still do).
const importsAnything = ['src/server.ts', 'src/app.ts', 'src/bootstrap.ts', 'src/composition.ts', 'src/cli/**'];
// Every direct subfolder of this one is a capability group, found on disk so new groups are covered without an edit here.
const capabilityGroupParent = 'src/services';

const httpFrameworkPackages = ['fastify', 'fastify-*', '@fastify/*'];
const databasePackages = ['kysely', 'pg', 'pg-copy-streams', 'better-sqlite3'];
// What src/domain imports today besides itself; anything new here is a decision, not a drive-by.
const domainPackages = ['ulid', 'node:crypto'];
const queryBuilding = /\.(selectFrom|insertInto|updateTable|deleteFrom|replaceInto|with)\(|\bsql(<[^`\n]*>)?`/g;
// Service files allowed to build queries for now; empty once every query lives in a repository.
const queryBuildingExemptions: string[] = [];

const anyOf =
  (...globs: string[]) =>
  (file: string | undefined) =>
    file !== undefined && globs.some((glob) => globMatches(glob, file));
const isPackage = (edge: ImportEdge, globs: string[]) =>
  edge.packageName !== undefined && globs.some((glob) => globMatches(glob, edge.packageName!));
const inServices = anyOf('src/services/**');
const inDomain = anyOf('src/domain/**');
const inServerCode = anyOf('src/**');
const routeSchemas = anyOf('src/routes/**/*schemas.ts');
const callersOfServices = anyOf('src/routes/**', 'src/plugins/**', 'src/jobs/**');

const rules: ArchitectureRule[] = [
  {
    name: 'no import cycles',
    kind: 'cycles',
    within: ['src/**', 'web/src/**'],
    reason: 'files in a cycle cannot be understood, tested or moved apart (type-only and dynamic imports count)',
  },
  {
    name: 'routes reach data only through services',
    kind: 'import',
    from: ['src/routes/**'],
    forbids: (edge) => anyOf('src/repositories/**', 'src/db/**')(edge.target),
    reason: 'a route calls a service; repositories and the database schema live behind it',
  },
  {
    name: 'services know nothing of HTTP or their callers',
    kind: 'import',
    from: ['src/services/**'],
    forbids: (edge) => isPackage(edge, httpFrameworkPackages) || callersOfServices(edge.target),
    reason: 'routes, jobs and the CLI all call services, so a service knows no web framework and no caller',
  },
  {
    name: 'repositories depend on nothing above them',
    kind: 'import',
    from: ['src/repositories/**'],
    forbids: (edge) => inServices(edge.target) || callersOfServices(edge.target) || anyOf('src/channels/**')(edge.target),
    reason: 'a repository is the bottom layer: it turns calls into queries and knows none of its callers',
  },
  {
    name: 'database packages stay in repositories and db',
    kind: 'import',
    from: ['src/**'],
    except: ['src/repositories/**', 'src/db/**'],
    forbids: (edge) => isPackage(edge, databasePackages),
    reason: 'queries live in repositories, so the query builder and the drivers are imported nowhere else (types included)',
  },
  {
    name: 'channels stay below services',
    kind: 'import',
    from: ['src/channels/**'],
    forbids: (edge, layout) =>
      callersOfServices(edge.target) || (inServices(edge.target) && !(edge.typeOnly && layout.groupIndexes.has(edge.target!))),
    reason: 'services call channels; a channel names a service type only, and only through its group index',
  },
  {
    name: 'capability groups are entered through their index',
    kind: 'import',
    from: ['src/**', 'web/src/**'],
    forbids: (edge, layout) => {
      const group = layout.groups.find((folder) => edge.target?.startsWith(folder));
      return group !== undefined && !edge.from.startsWith(group) && edge.target !== `${group}index.ts`;
    },
    reason: "outside a group only its index.ts is public; the rest is the group's own business",
  },
  {
    name: 'every service lives in a capability group',
    kind: 'file',
    files: [`${capabilityGroupParent}/*`],
    destination: `${capabilityGroupParent}/<group>/`,
    reason: 'a file directly in src/services belongs to no capability; move it into the group that owns it',
  },
  {
    name: 'domain is pure',
    kind: 'import',
    from: ['src/domain/**'],
    forbids: (edge) =>
      (edge.target !== undefined && !inDomain(edge.target)) || (edge.packageName !== undefined && !isPackage(edge, domainPackages)),
    reason: `domain code imports only domain code and ${domainPackages.join(', ')}, so every layer and the console can share it`,
  },
  {
    name: 'the console shares only domain code with the server',
    kind: 'import',
    from: ['web/src/**'],
    // The console's types come from the route schemas (one Zod schema per request and response), as types only.
    forbids: (edge) => inServerCode(edge.target) && !inDomain(edge.target) && !(edge.typeOnly && routeSchemas(edge.target)),
    reason: "the browser bundle may share src/domain constants and the route schemas' types, never other server code",
  },
  {
    name: 'services build no queries',
    kind: 'content',
    files: ['src/services/**'],
    exempt: queryBuildingExemptions,
    pattern: queryBuilding,
    reason: 'queries live in repositories; a service calls a repository method',
  },
  {
    name: 'relative imports resolve',
    kind: 'import',
    from: ['src/**', 'web/src/**'],
    forbids: (edge) => edge.target !== undefined && !edge.resolved,
    reason: 'no file answers this import, so no other rule can see where it points',
  },
];

// ---------------------------------------------------------------------------------------------------------------
// The engine the rules run on.
// ---------------------------------------------------------------------------------------------------------------

/** What a rule may look at besides the edge or file in hand. */
interface Layout {
  graph: ImportGraph;
  /** Capability group folders, each ending in `/`: `src/services/payments/`. */
  groups: string[];
  groupIndexes: Set<string>;
}

interface RuleBase {
  name: string;
  /** Why the rule exists; every violation ends with it. */
  reason: string;
}

/** Each import edge from a matching file (entry points aside) is checked; `forbids` says whether it breaks the rule. */
interface ImportRule extends RuleBase {
  kind: 'import';
  from: string[];
  except?: string[];
  forbids: (edge: ImportEdge, layout: Layout) => boolean;
}

/** A file matching `files` breaks the rule by existing; `destination` says where it belongs. */
interface FileRule extends RuleBase {
  kind: 'file';
  files: string[];
  destination: string;
}

/** Each match of `pattern` in a matching file's code (comments aside) breaks the rule. */
interface ContentRule extends RuleBase {
  kind: 'content';
  files: string[];
  exempt: string[];
  pattern: RegExp;
}

/** Each strongly connected component among the matching files breaks the rule. */
interface CycleRule extends RuleBase {
  kind: 'cycles';
  within: string[];
}

type ArchitectureRule = ImportRule | FileRule | ContentRule | CycleRule;

const globPatterns = new Map<string, RegExp>();

/** `**` spans folders, `*` stays within one path segment. */
function globMatches(glob: string, text: string): boolean {
  let pattern = globPatterns.get(glob);
  if (pattern === undefined) {
    const escape = (piece: string) => piece.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    const body = glob.split('**').map((part) => part.split('*').map(escape).join('[^/]*'));
    pattern = new RegExp(`^${body.join('.*')}$`);
    globPatterns.set(glob, pattern);
  }
  return pattern.test(text);
}

function capabilityGroups(root: string): string[] {
  const parent = path.join(root, capabilityGroupParent);
  const entries = readdirSync(parent, { withFileTypes: true, encoding: 'utf8' });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${capabilityGroupParent}/${entry.name}/`)
    .sort();
}

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;

function violationsOf(rule: ArchitectureRule, root: string, layout: Layout): string[] {
  const { graph } = layout;
  const matching = (globs: string[]) => graph.files.filter(anyOf(...globs));
  switch (rule.kind) {
    case 'import': {
      const checked = anyOf(...rule.from);
      const skipped = anyOf(...(rule.except ?? []), ...importsAnything);
      return graph.edges
        .filter((edge) => checked(edge.from) && !skipped(edge.from) && rule.forbids(edge, layout))
        .map((edge) => `${edge.from} → ${edge.target ?? edge.specifier}${edge.typeOnly ? ' (type-only)' : ''}: ${rule.reason}`);
    }
    case 'file':
      return matching(rule.files).map((file) => `${file} → ${rule.destination}: ${rule.reason}`);
    case 'content':
      return matching(rule.files)
        .filter((file) => !rule.exempt.includes(file))
        .flatMap((file) => {
          const code = withoutComments(file, readFileSync(path.join(root, file), 'utf8'));
          return [...code.matchAll(rule.pattern)].map((match) => `${file}:${lineOf(code, match.index)} → ${match[0]}: ${rule.reason}`);
        });
    case 'cycles': {
      const within = new Set(matching(rule.within));
      const subgraph = { files: [...within], edges: graph.edges.filter((edge) => within.has(edge.from)) };
      return findCycles(subgraph).map(({ files, loop }) => {
        const tangle = files.length > loop.length - 1 ? ` (one loop of a tangle of ${files.length} files: ${files.join(', ')})` : '';
        return `${loop.join(' → ')}: ${rule.reason}${tangle}`;
      });
    }
  }
}

/** Every rule's violations, by rule name, in rule order; an empty list means the rule holds. */
function checkArchitecture(root: string, ruleBook: readonly ArchitectureRule[]): Map<string, string[]> {
  const graph = readImportGraph(root, checkedFolders);
  const groups = capabilityGroups(root);
  const layout: Layout = { graph, groups, groupIndexes: new Set(groups.map((group) => `${group}index.ts`)) };
  return new Map(ruleBook.map((rule) => [rule.name, [...new Set(violationsOf(rule, root, layout))].sort()]));
}

// ---------------------------------------------------------------------------------------------------------------
// The rules against this repository.
// ---------------------------------------------------------------------------------------------------------------

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('architecture of this repository', () => {
  let results: Map<string, string[]>;
  beforeAll(() => {
    results = checkArchitecture(repositoryRoot, rules);
  });

  it.each(rules.map((rule) => rule.name))('%s', (name) => {
    expect(results.get(name)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The rules against a planted miniature: each rule fires exactly on its planted breach and never on a clean file.
// ---------------------------------------------------------------------------------------------------------------

const plantedTree: Record<string, string> = {
  // Entry point: a database package and a group's internals would break two rules anywhere else.
  'src/server.ts': `
    import { Kysely } from 'kysely';
    import { createOrder } from './services/payments/order.service.ts';
    export const start = () => createOrder(new Kysely({} as never));`,
  'src/db/database.ts': `
    import SQLite from 'better-sqlite3';
    import { Kysely } from 'kysely';
    export const open = () => new Kysely({ dialect: new SQLite(':memory:') as never });`,
  'src/domain/order.ts': `
    import { randomUUID } from 'node:crypto';
    import { ulid } from 'ulid';
    export const orderStates = ['open', 'paid'] as const;
    export const newOrderId = () => ulid() + randomUUID();
    export interface Order { id: string }`,
  'src/domain/money.ts': `
    import { z } from 'zod';
    export const amount = z.number().int();`,
  // A test beside its code is left out: it imports vitest and a group's internals.
  'src/domain/order.test.ts': `
    import { it } from 'vitest';
    import { createOrder } from '../services/payments/order.service.ts';
    it('exists', () => createOrder);`,
  'src/repositories/order.repository.ts': `
    import type { Kysely } from 'kysely';
    import type { Order } from '../domain/order.ts';
    import type { RefundRequest } from '../services/refunds/index.ts';
    export const findOrder = (db: Kysely<never>, id: string): Order | RefundRequest => ({ id, db }) as never;`,
  'src/routes/order.routes.ts': `
    import type { FastifyInstance } from 'fastify';
    import { findOrder } from '../repositories/order.repository.ts';
    import { createOrder } from '../services/payments/index.ts';
    export const routes = (app: FastifyInstance) => [app, findOrder, createOrder];`,
  // Clean: comments and strings that look like forbidden imports are not imports.
  'src/routes/health.routes.ts': `
    import type { FastifyInstance } from 'fastify';
    import { createOrder } from '../services/payments/index.ts';
    // import { findOrder } from '../repositories/order.repository.ts';
    /* export * from '../db/database.ts'; */
    const example = "import { open } from '../db/database.ts'";
    export const health = (app: FastifyInstance) => [app, createOrder, example, \`import('../db/database.ts')\`];`,
  'src/services/payments/index.ts': `
    export { createOrder } from './order.service.ts';
    export type { OrderView } from './order-view.ts';`,
  'src/services/payments/order.service.ts': `
    import fastify from 'fastify';
    import { findOrder } from '../../repositories/order.repository.ts';
    export const createOrder = async (db: unknown) => {
      const { refund } = await import('../refunds/refund.service.ts');
      return [fastify, findOrder, db, refund];
    };`,
  'src/services/payments/order-view.ts': `
    import type { Order } from '../../domain/order.ts';
    export interface OrderView extends Order { state: string }`,
  'src/services/payments/order-query.ts': `
    import type { Kysely } from 'kysely';
    // Not a query: db.selectFrom('orders') in a comment.
    export const paidOrders = (db: Kysely<any>) => db.selectFrom('orders');
    export const states = ['a', 'b'].map((state) => state.toUpperCase());`,
  'src/services/refunds/index.ts': `
    export { refund } from './refund.service.ts';
    export type { RefundRequest } from './refund.service.ts';`,
  'src/services/refunds/refund.service.ts': `
    import { refundPolicy } from './refund-policy.ts';
    export interface RefundRequest { amount: number }
    export const refund = (request: RefundRequest) => refundPolicy(request);`,
  'src/services/refunds/refund-policy.ts': `
    import type { RefundRequest } from './refund.service.ts';
    export const refundPolicy = (request: RefundRequest) => request.amount > 0;`,
  'src/services/helpers.ts': `export const round = (value: number) => Math.round(value);`,
  'src/channels/sandbox.ts': `
    import type { OrderView } from '../services/payments/index.ts';
    import { createOrder } from '../services/payments/index.ts';
    export const settle = (view: OrderView) => [view, createOrder];`,
  'src/jobs/close.ts': `
    import { refund } from '../services/refunds/index.ts';
    import { removed } from '../repositories/removed.repository.ts';
    export const close = () => [refund, removed];`,
  'web/src/main.tsx': `
    import { orderStates } from '../../src/domain/order.ts';
    import type { OrderView } from '../../src/services/payments/index.ts';
    export const Main = (props: { view: OrderView }) => <p>{orderStates.join()} {props.view.state}</p>;`,
};

const plantedBreaches: Record<string, string[]> = {
  'no import cycles': [
    'src/services/refunds/refund-policy.ts → src/services/refunds/refund.service.ts → src/services/refunds/refund-policy.ts: ' +
      'files in a cycle cannot be understood, tested or moved apart (type-only and dynamic imports count)',
  ],
  'routes reach data only through services': [
    'src/routes/order.routes.ts → src/repositories/order.repository.ts: ' +
      'a route calls a service; repositories and the database schema live behind it',
  ],
  'services know nothing of HTTP or their callers': [
    'src/services/payments/order.service.ts → fastify: ' +
      'routes, jobs and the CLI all call services, so a service knows no web framework and no caller',
  ],
  'repositories depend on nothing above them': [
    'src/repositories/order.repository.ts → src/services/refunds/index.ts (type-only): ' +
      'a repository is the bottom layer: it turns calls into queries and knows none of its callers',
  ],
  'database packages stay in repositories and db': [
    'src/services/payments/order-query.ts → kysely (type-only): ' +
      'queries live in repositories, so the query builder and the drivers are imported nowhere else (types included)',
  ],
  'channels stay below services': [
    'src/channels/sandbox.ts → src/services/payments/index.ts: ' +
      'services call channels; a channel names a service type only, and only through its group index',
  ],
  'capability groups are entered through their index': [
    'src/services/payments/order.service.ts → src/services/refunds/refund.service.ts: ' +
      "outside a group only its index.ts is public; the rest is the group's own business",
  ],
  'every service lives in a capability group': [
    'src/services/helpers.ts → src/services/<group>/: ' +
      'a file directly in src/services belongs to no capability; move it into the group that owns it',
  ],
  'domain is pure': [
    'src/domain/money.ts → zod: ' +
      'domain code imports only domain code and ulid, node:crypto, so every layer and the console can share it',
  ],
  'the console shares only domain code with the server': [
    'web/src/main.tsx → src/services/payments/index.ts (type-only): ' +
      "the browser bundle may share src/domain constants and the route schemas' types, never other server code",
  ],
  'services build no queries': [
    'src/services/payments/order-query.ts:3 → .selectFrom(: queries live in repositories; a service calls a repository method',
  ],
  'relative imports resolve': [
    'src/jobs/close.ts → src/repositories/removed.repository.ts: ' +
      'no file answers this import, so no other rule can see where it points',
  ],
};

describe('the rule book on a planted miniature', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'paythrough-architecture-'));
    for (const [file, text] of Object.entries(plantedTree)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text.replace(/^\n/, ''));
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('every rule has a planted breach', () => {
    expect(Object.keys(plantedBreaches).sort()).toEqual(rules.map((rule) => rule.name).sort());
  });

  it('each rule fires exactly on its planted breach, and on no clean file', () => {
    expect(Object.fromEntries(checkArchitecture(root, rules))).toEqual(plantedBreaches);
  });

  it('a query builder exemption silences only the exempt file', () => {
    const contentRule = rules.find((rule): rule is ContentRule => rule.kind === 'content');
    const exempted = { ...contentRule!, exempt: ['src/services/payments/order-query.ts'] };
    expect(checkArchitecture(root, [exempted]).get(exempted.name)).toEqual([]);
  });
});
