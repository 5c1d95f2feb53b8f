// `edgebus/batch` is what another program imports: this test imports it by the package
// name (Node resolves it through package.json `exports`, as in a consumer's node_modules)
// and checks its declarations are where `exports` says, so the types ship too.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BATCH_FORMAT_VERSION, readBatch, type Batch } from 'edgebus/batch';
import { ROOT } from '../helpers/paths.js';

interface Exports { exports: Record<string, string | Record<string, string>> }

describe('the edgebus/batch export', () => {
  it('decodes a golden batch when imported by the package name', () => {
    const batch: Batch = readBatch(readFileSync(join(ROOT, 'test', 'fixtures', 'batches', 'v1.cbor')));
    assert.equal(batch.version, BATCH_FORMAT_VERSION);
    assert.equal(batch.gatewayId, 'greenhouse-gw');
    assert.equal(batch.events.length, 4);
  });

  it('points at built JavaScript and declarations', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Exports;
    const entry = pkg.exports['./batch'] as Record<string, string>;
    for (const condition of ['types', 'default']) assert.ok(existsSync(join(ROOT, entry[condition])), `${condition}: ${entry[condition]} (built by npm run build)`);
  });
});
