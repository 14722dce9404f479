import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/** How a module names another: `import`, `export … from`, `import '…'`, `import('…')`, or `import('…')` in a type. */
export type ImportKind = 'import' | 're-export' | 'side-effect' | 'dynamic' | 'type-query';

export interface ImportEdge {
  /** Repository-relative path of the importing file, with `/` separators. */
  from: string;
  specifier: string;
  kind: ImportKind;
  /** Erased at compile time: `import type`, `export type`, every named binding `type X`, or `import('…')` in a type. */
  typeOnly: boolean;
  /** Repository-relative file a relative specifier names; when no file answers, the path it would have. */
  target?: string;
  /** Whether `target` exists on disk (always false for packages). */
  resolved: boolean;
  /** For bare specifiers: `kysely`, `@fastify/static`, `node:fs` (built-ins always carry the `node:` prefix). */
  packageName?: string;
}

export interface ImportGraph {
  /** Every source file read, repository-relative and sorted. */
  files: string[];
  edges: ImportEdge[];
}

export interface ImportCycle {
  /** Every file of the strongly connected component, sorted. */
  files: string[];
  /** One shortest loop through the first file, which it starts and ends with. */
  loop: string[];
}

const sourceExtensions = ['.ts', '.tsx'];
// Unit tests live beside their code and may reach its internals, and nothing imports a test, so tests are left out of the graph.
const testFile = /\.test\.tsx?$/;

export const isTestFile = (file: string) => testFile.test(file);

const toPosix = (file: string) => file.split(path.sep).join('/');

function* sourceFilesUnder(root: string, folder: string): Generator<string> {
  const absolute = path.join(root, folder);
  if (!statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) return;
  for (const entry of readdirSync(absolute, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const child = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) yield* sourceFilesUnder(root, child);
    else if (sourceExtensions.some((extension) => entry.name.endsWith(extension)) && !isTestFile(entry.name)) yield child;
  }
}

export function packageNameOf(specifier: string): string {
  const [first = specifier, second] = specifier.split('/');
  if (first.startsWith('@') && second !== undefined) return `${first}/${second}`;
  if (first.startsWith('node:')) return first;
  return isBuiltin(first) ? `node:${first}` : first;
}

function resolveRelative(root: string, from: string, specifier: string): { target: string; resolved: boolean } {
  const written = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier.replace(/[?#].*$/, '')));
  // `.ts` is written explicitly in this codebase; the other candidates cover folder specifiers and extensionless imports.
  const candidates = [written, ...sourceExtensions.map((extension) => written + extension)];
  candidates.push(...sourceExtensions.map((extension) => `${written}/index${extension}`));
  const found = candidates.find((candidate) => statSync(path.join(root, candidate), { throwIfNoEntry: false })?.isFile());
  return { target: found ?? written, resolved: found !== undefined };
}

const everyElementTypeOnly = (elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>) =>
  elements.length > 0 && elements.every((element) => element.isTypeOnly);

function importDeclarationIsTypeOnly(clause: ts.ImportClause | undefined): boolean {
  if (clause === undefined) return false;
  if (clause.phaseModifier === ts.SyntaxKind.TypeKeyword) return true;
  if (clause.name !== undefined || clause.namedBindings === undefined) return false;
  return ts.isNamedImports(clause.namedBindings) && everyElementTypeOnly(clause.namedBindings.elements);
}

function exportDeclarationIsTypeOnly(declaration: ts.ExportDeclaration): boolean {
  if (declaration.isTypeOnly) return true;
  const clause = declaration.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && everyElementTypeOnly(clause.elements);
}

function parse(file: string, text: string): ts.SourceFile {
  const scriptKind = file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind);
}

/** Every module specifier a file names, found in the syntax tree so comments and strings that look like imports are ignored. */
export function importsOf(file: string, text: string): Array<{ specifier: string; kind: ImportKind; typeOnly: boolean }> {
  const found: Array<{ specifier: string; kind: ImportKind; typeOnly: boolean }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const kind = node.importClause === undefined ? 'side-effect' : 'import';
      found.push({ specifier: node.moduleSpecifier.text, kind, typeOnly: importDeclarationIsTypeOnly(node.importClause) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, kind: 're-export', typeOnly: exportDeclarationIsTypeOnly(node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument !== undefined && ts.isStringLiteralLike(argument)) {
        found.push({ specifier: argument.text, kind: 'dynamic', typeOnly: false });
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, kind: 'type-query', typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(file, text));
  return found;
}

/** Reads every `.ts`/`.tsx` file (tests excepted) under the given folders of a repository and the imports each one makes. */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const files = [...new Set(folders.flatMap((folder) => [...sourceFilesUnder(root, toPosix(folder))]))].sort();
  const edges = files.flatMap((from) =>
    importsOf(from, readFileSync(path.join(root, from), 'utf8')).map(({ specifier, kind, typeOnly }): ImportEdge => {
      if (specifier.startsWith('.')) return { from, specifier, kind, typeOnly, ...resolveRelative(root, from, specifier) };
      return { from, specifier, kind, typeOnly, resolved: false, packageName: packageNameOf(specifier) };
    }),
  );
  return { files, edges };
}

/** The source text with every comment blanked out (newlines kept, so line numbers still match the file). */
export function withoutComments(file: string, text: string): string {
  const sourceFile = parse(file, text);
  const comments = new Map<number, ts.CommentRange>();
  // Every comment sits in the trivia before some token (TypeScript calls those on the token's line "trailing" the one before),
  // and getChildren reaches every token, the end-of-file token included.
  const visit = (node: ts.Node) => {
    const trivia = [...(ts.getTrailingCommentRanges(text, node.pos) ?? []), ...(ts.getLeadingCommentRanges(text, node.pos) ?? [])];
    for (const comment of trivia) comments.set(comment.pos, comment);
    for (const child of node.getChildren(sourceFile)) visit(child);
  };
  visit(sourceFile);
  let code = text;
  for (const { pos, end } of comments.values()) code = code.slice(0, pos) + code.slice(pos, end).replace(/[^\n]/g, ' ') + code.slice(end);
  return code;
}

function shortestLoop(start: string, members: ReadonlySet<string>, next: ReadonlyMap<string, string[]>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (const file of queue) {
    for (const target of next.get(file) ?? []) {
      if (target === start) {
        const loop = [start];
        for (let step: string | undefined = file; step !== start && step !== undefined; step = cameFrom.get(step)) loop.splice(1, 0, step);
        return [...loop, start];
      }
      if (members.has(target) && !cameFrom.has(target)) {
        cameFrom.set(target, file);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/**
 * Every import cycle, as Tarjan's strongly connected components. Type-only and dynamic edges count too: a type-only
 * cycle still ties the modules' designs together and turns into a runtime cycle with the first value import.
 */
export function findCycles(graph: ImportGraph): ImportCycle[] {
  const next = new Map<string, string[]>(graph.files.map((file) => [file, []]));
  for (const edge of graph.edges) {
    if (edge.target !== undefined && next.has(edge.target)) next.get(edge.from)?.push(edge.target);
  }
  const order = new Map<string, number>();
  const lowest = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (file: string) => {
    order.set(file, order.size);
    lowest.set(file, order.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const target of next.get(file) ?? []) {
      if (!order.has(target)) {
        connect(target);
        lowest.set(file, Math.min(lowest.get(file)!, lowest.get(target)!));
      } else if (onStack.has(target)) {
        lowest.set(file, Math.min(lowest.get(file)!, order.get(target)!));
      }
    }
    if (lowest.get(file) !== order.get(file)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = member === file ? undefined : stack.pop()) {
      onStack.delete(member);
      component.push(member);
    }
    components.push(component);
  };
  for (const file of graph.files) if (!order.has(file)) connect(file);
  return components
    .filter((component) => component.length > 1 || (next.get(component[0]!) ?? []).includes(component[0]!))
    .map((component) => {
      const files = component.sort();
      return { files, loop: shortestLoop(files[0]!, new Set(files), next) };
    })
    .sort((a, b) => a.files[0]!.localeCompare(b.files[0]!));
}
