// Every test file says what kind it is (README "Tests"): `npm run test:unit`, `test:int`
// and `test:e2e` pick files by that name, so a file named otherwise would run only under
// `npm test`, and a fast run would miss it without saying so.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/paths.js';

const TEST = join(ROOT, 'test');
const KINDS = ['unit', 'int', 'e2e'] as const;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [relative(TEST, path)];
  });
}

describe('test layout', () => {
  it('every *.test.ts is a *.unit, *.int or *.e2e test', () => {
    const tests = files(TEST).filter((f) => f.endsWith('.test.ts'));
    assert.ok(tests.length > 50, `found only ${tests.length} test files under ${TEST}`);
    const unnamed = tests.filter((f) => !KINDS.some((k) => f.endsWith(`.${k}.test.ts`)));
    assert.deepEqual(unnamed, [], 'rename these to say their kind, or npm run test:unit|test:int|test:e2e skips them');
  });

  it('npm has a script per kind, and npm test runs them all', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const k of KINDS) assert.match(scripts[`test:${k}`] ?? '', new RegExp(`'\\*\\.${k}\\.test\\.js'`), `test:${k}`);
    assert.match(scripts.test, /'\*\.test\.js'/);
  });
});
