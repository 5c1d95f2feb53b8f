// Hot reload of rulesDir (SPEC §5) with real files: changes are reported with the full rule
// set; a file that stops validating keeps its previous rules; a deleted file drops them.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { formatIssue } from '../../src/config/validate.js';
import type { CompiledRule } from '../../src/rules/types.js';
import { RulesWatcher, type RulesChange } from '../../src/rules/watcher.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

const rule = (id: string, description: string) => `id: ${id}\ndescription: ${description}\nmatch: { type: DeviceData }\n`;
const byId = (rules: readonly CompiledRule[], id: string) => rules.find((r) => r.id === id);

describe('RulesWatcher', () => {
  let tmp: { dir: string; cleanup: () => void };
  let dir: string;
  let watcher: RulesWatcher | null = null;
  let changes: RulesChange[];

  beforeEach(() => {
    tmp = tempDir('edgebus-rules-');
    dir = join(tmp.dir, 'rules');
    changes = [];
  });
  afterEach(() => {
    watcher?.stop();
    watcher = null;
    tmp.cleanup();
  });

  const start = () => {
    watcher = new RulesWatcher(dir, (c) => changes.push(c), { debounceMs: 50, pollMs: 100 });
    return watcher.start();
  };
  /** The next change (after `seen` of them) that passes `check`. */
  const nextChange = (seen: number, check: (c: RulesChange) => boolean, message: string) =>
    waitFor(() => changes.slice(seen).find(check), { timeout: 5_000, message });

  test('a file added, changed, broken, fixed and deleted', async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), rule('a', 'one'));
    writeFileSync(join(dir, 'b.yaml'), rule('b', 'steady'));
    const first = start();
    assert.deepEqual(first.rules.map((r) => r.id), ['a', 'b']);
    assert.deepEqual(first.issues, []);
    const b = byId(first.rules, 'b')!;

    let n = changes.length;
    writeFileSync(join(dir, 'c.yml'), rule('c', 'new'));
    let c = await nextChange(n, (x) => x.rules.some((r) => r.id === 'c'), 'the added file');
    assert.deepEqual(c.changedFiles, [join(dir, 'c.yml')]);
    assert.equal(byId(c.rules, 'b'), b, 'an unchanged file keeps its rule objects (and so its engine state)');

    n = changes.length;
    writeFileSync(join(dir, 'a.yaml'), rule('a', 'two'));
    c = await nextChange(n, (x) => byId(x.rules, 'a')?.description === 'two', 'the changed file');
    assert.deepEqual(c.changedFiles, [join(dir, 'a.yaml')]);
    assert.deepEqual(c.issues, []);
    const a2 = byId(c.rules, 'a')!;

    n = changes.length;
    writeFileSync(join(dir, 'a.yaml'), 'id: a\ndescription: three\nwhere:\n  value: { gtt: 30 }\n');
    c = await nextChange(n, (x) => x.issues.length > 0, 'the broken file');
    assert.deepEqual(c.issues.map(formatIssue), [`${join(dir, 'a.yaml')}:4: where.value.gtt: unknown operator "gtt" (expected one of eq, ne, gt, gte, lt, lte, between, in, contains, regex, exists)`]);
    assert.equal(byId(c.rules, 'a'), a2, 'the previous version keeps running');
    assert.deepEqual(c.rules.map((r) => r.id).sort(), ['a', 'b', 'c']);

    n = changes.length;
    writeFileSync(join(dir, 'a.yaml'), 'id: a\ndescription: [unclosed\n');
    c = await nextChange(n, (x) => x.issues.length > 0 && x.changedFiles.includes(join(dir, 'a.yaml')), 'a syntax error');
    assert.equal(byId(c.rules, 'a'), a2, 'still the last good version');

    n = changes.length;
    writeFileSync(join(dir, 'a.yaml'), rule('a', 'four'));
    c = await nextChange(n, (x) => x.issues.length === 0, 'the fixed file');
    assert.equal(byId(c.rules, 'a')!.description, 'four');

    n = changes.length;
    rmSync(join(dir, 'c.yml'));
    c = await nextChange(n, (x) => !x.rules.some((r) => r.id === 'c'), 'the deleted file');
    assert.deepEqual(c.changedFiles, [join(dir, 'c.yml')]);
    assert.deepEqual(c.rules.map((r) => r.id).sort(), ['a', 'b']);
    assert.deepEqual(watcher!.current().rules, c.rules);
  });

  test('in a list file, only the broken rule keeps its previous version', async () => {
    mkdirSync(dir);
    const file = join(dir, 'list.yaml');
    writeFileSync(file, `- ${rule('x', 'x1').replace(/\n(?=.)/g, '\n  ')}- ${rule('y', 'y1').replace(/\n(?=.)/g, '\n  ')}`);
    const first = start();
    assert.deepEqual(first.rules.map((r) => r.description), ['x1', 'y1']);
    const y1 = byId(first.rules, 'y');

    const n = changes.length;
    writeFileSync(file, ['- id: x', '  description: x2', '- id: y', '  description: y2', '  window: { sliding: soon }', ''].join('\n'));
    const c = await nextChange(n, (x) => x.issues.length > 0, 'the half-broken list');
    assert.match(formatIssue(c.issues[0]), new RegExp(`^${file}:5: 1\\.window\\.sliding: `));
    assert.equal(byId(c.rules, 'x')!.description, 'x2', 'the good rule is updated');
    assert.equal(byId(c.rules, 'y'), y1, 'the broken one keeps running as it was');
  });

  test('a directory that does not exist yet is picked up when it appears', async () => {
    const first = start();
    assert.deepEqual(first, { rules: [], issues: [] });
    // Built aside and moved in whole, as a deploy would.
    const staging = join(tmp.dir, 'staging');
    mkdirSync(staging);
    writeFileSync(join(staging, 'late.yaml'), rule('late', 'arrived'));
    renameSync(staging, dir);
    const c = await nextChange(0, (x) => x.rules.some((r) => r.id === 'late'), 'the rule in the new directory');
    assert.deepEqual(c.changedFiles, [join(dir, 'late.yaml')]);

    // And writes into it from then on are seen too.
    const n = changes.length;
    writeFileSync(join(dir, 'later.yaml'), rule('later', 'too'));
    await nextChange(n, (x) => x.rules.some((r) => r.id === 'later'), 'a rule written into the new directory');
  });

  test('a duplicate id across files is reported and the later file is skipped', async () => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), rule('dup', 'from a'));
    start();
    const n = changes.length;
    writeFileSync(join(dir, 'b.yaml'), rule('dup', 'from b'));
    const c = await nextChange(n, (x) => x.issues.length > 0, 'the duplicate');
    assert.deepEqual(c.rules.map((r) => r.description), ['from a']);
    assert.match(formatIssue(c.issues[0]), /b\.yaml:1: id: duplicate rule id "dup"/);
  });
});
