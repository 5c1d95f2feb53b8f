// The store owns its layout (README "Source layout"): key formats, sublevels and raw
// write batches are used inside src/store only; everything else reads and writes through
// its functions (log-writer.ts, log-range.ts, log-reader.ts, meta-records.ts, …). One
// TypeScript program over src/ finds, by type rather than by variable name, every member
// access on an EventStore that reaches a sublevel or a raw handle, and every import of
// store/keys.ts or store/write-batch.ts, outside src/store.
import assert from 'node:assert/strict';
import { dirname, join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { ROOT } from '../helpers/paths.js';

const SRC = join(ROOT, 'src');
const STORE = join(SRC, 'store') + sep;

/** EventStore members that are the store's layout: its sublevels, the LevelDB handle, raw batches. */
const LAYOUT_MEMBERS: ReadonlySet<string> = new Set([
  'log', 'ids', 'idGroups', 'streams', 'sources', 'pending', 'times', 'urgent', 'correlations', 'correlatedSeqs', 'outbox', 'rejected', 'clock', 'meta', 'checkpoints',
  'db', 'prefix', 'newWriteBatch', 'batch',
]);

/** Modules whose exports are raw keys or raw batches. */
const LAYOUT_MODULES: ReadonlySet<string> = new Set([join(SRC, 'store', 'keys.ts'), join(SRC, 'store', 'write-batch.ts')]);

interface Finding {
  /** Relative to the checkout, `src/…`. */
  file: string;
  line: number;
  what: string;
}

function program(): ts.Program {
  const configPath = join(ROOT, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, ROOT, undefined, configPath);
  const files = parsed.fileNames.filter((f) => f.startsWith(SRC + sep) || f.startsWith(SRC + '/'));
  return ts.createProgram(files, { ...parsed.options, noEmit: true });
}

const prog = program();
const checker = prog.getTypeChecker();
const sourceFiles = prog.getSourceFiles().filter((f) => !f.isDeclarationFile && ts.sys.resolvePath(f.fileName).startsWith(SRC + sep));

function eventStoreSymbol(): ts.Symbol {
  const file = prog.getSourceFile(join(SRC, 'store', 'event-store.ts'));
  const decl = file?.statements.find((s): s is ts.ClassDeclaration => ts.isClassDeclaration(s) && s.name?.text === 'EventStore');
  const symbol = decl?.name && checker.getSymbolAtLocation(decl.name);
  if (!symbol) throw new Error('class EventStore not found in src/store/event-store.ts');
  return symbol;
}

const EVENT_STORE = eventStoreSymbol();

function isEventStore(type: ts.Type): boolean {
  if (type.isUnionOrIntersection()) return type.types.some(isEventStore);
  return type.getSymbol() === EVENT_STORE;
}

function rel(file: ts.SourceFile): string {
  return relative(ROOT, ts.sys.resolvePath(file.fileName)).split(sep).join('/');
}

function at(file: ts.SourceFile, node: ts.Node, what: string): Finding {
  return { file: rel(file), line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1, what };
}

/** The property a destructuring element takes: `log` in `{ log }` and `{ log: l }`. */
function bindingName(element: ts.BindingElement): string | null {
  const key = element.propertyName ?? element.name;
  return ts.isIdentifier(key) || ts.isStringLiteralLike(key) ? key.text : null;
}

/** `store.log`, `store?.meta`, `store['db']`, `const { log } = store`: layout members reached on an EventStore. */
function storeAccesses(file: ts.SourceFile): Finding[] {
  const out: Finding[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) {
      const name = node.name.text;
      if (LAYOUT_MEMBERS.has(name) && isEventStore(checker.getTypeAtLocation(node.expression))) out.push(at(file, node, `EventStore.${name}`));
    } else if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
      const name = node.argumentExpression.text;
      if (LAYOUT_MEMBERS.has(name) && isEventStore(checker.getTypeAtLocation(node.expression))) out.push(at(file, node, `EventStore.${name}`));
    } else if (ts.isObjectBindingPattern(node)) {
      const named = node.elements.filter((e) => LAYOUT_MEMBERS.has(bindingName(e) ?? ''));
      if (named.length && isEventStore(checker.getTypeAtLocation(node))) {
        for (const e of named) out.push(at(file, e, `EventStore.${bindingName(e)}`));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** Imports and re-exports (static, dynamic, and `import('…')` types) of keys.ts or write-batch.ts. */
function layoutImports(file: ts.SourceFile): Finding[] {
  const out: Finding[] = [];
  const check = (node: ts.Node, spec: ts.Expression | undefined): void => {
    if (!spec || !ts.isStringLiteralLike(spec) || !spec.text.startsWith('.')) return;
    const target = join(dirname(ts.sys.resolvePath(file.fileName)), spec.text).replace(/\.js$/, '.ts');
    if (LAYOUT_MODULES.has(target)) out.push(at(file, node, `imports ${spec.text}`));
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) check(node, node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) check(node, node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) check(node, node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

function format(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.file}:${f.line}: ${f.what}`);
}

const inStore = (f: ts.SourceFile): boolean => ts.sys.resolvePath(f.fileName).startsWith(STORE);
const outside = sourceFiles.filter((f) => !inStore(f));

describe('the store owns its layout', () => {
  it('reads all of src/ and recognises EventStore accesses (those src/store makes)', () => {
    assert.ok(sourceFiles.length > 100, `read ${sourceFiles.length} files of src/`);
    assert.ok(outside.length > 50, `read ${outside.length} files outside src/store`);
    // Without this, a check that stopped resolving the EventStore type would pass silently.
    const own = sourceFiles.filter(inStore).flatMap(storeAccesses);
    assert.ok(own.length > 20, `found only ${own.length} EventStore layout accesses in src/store`);
  });

  it('no file outside src/store imports store/keys.js or store/write-batch.js', () => {
    const found = outside.flatMap(layoutImports);
    assert.deepEqual(format(found), [], 'go through the store\'s functions (log-writer.ts, log-range.ts, rejected.ts, meta-records.ts, …)');
  });

  it('no file outside src/store touches an EventStore sublevel or raw handle', () => {
    const found = outside.flatMap(storeAccesses);
    assert.deepEqual(format(found), [], 'go through the store\'s functions (log-writer.ts, log-range.ts, rejected.ts, meta-records.ts, …)');
  });
});
