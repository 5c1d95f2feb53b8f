// Folders follow the data and import downward only (README "Source layout"): a reading
// goes ingest → pipeline → store, and what consumes the log (rules, upstream, jobs, http)
// sits above the pipeline. This reads every import in src/ and fails on one that climbs a
// layer or crosses to a folder of the same layer, naming the file and the import.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/paths.js';

/** Lower layers first; a folder (or a top-level file) may import only from lower layers. */
const LAYERS: readonly (readonly string[])[] = [
  ['util', 'version'],
  ['events', 'security'],
  // The upstream batch format, read by other programs as `edgebus/batch`: events only.
  ['batch'],
  ['time'],
  ['config'],
  ['store'],
  ['pipeline'],
  ['ingest'],
  ['devices', 'rules', 'upstream', 'jobs', 'http', 'sink', 'homeassistant'],
  // Routes take the rules' conditions and feed the forwarder (through its BatchRouting port);
  // schemas compile upcasts in the rules' language and serve ingest, the forwarder, the
  // rules and the API through ports of theirs (PayloadSchemas, LatestVersion, …).
  ['routes', 'schemas'],
  ['usecases'],
  ['daemon'],
  ['cli'],
];

const SRC = join(ROOT, 'src');
const rank = new Map(LAYERS.flatMap((names, i) => names.map((n): [string, number] => [n, i])));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** `store` for src/store/keys.ts, `daemon` for src/daemon.ts. */
function unitOf(path: string): string {
  const rel = relative(SRC, path);
  const [first] = rel.split(sep);
  return rel.includes(sep) ? first : first.replace(/\.ts$/, '');
}

interface Import { from: string; to: string; spec: string }

function imports(): Import[] {
  const out: Import[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?\sfrom\s+'(\.{1,2}\/[^']+)'/gm)) {
      const target = normalize(join(dirname(file), m[1])).replace(/\.js$/, '.ts');
      out.push({ from: relative(SRC, file), to: unitOf(target), spec: m[1] });
    }
  }
  return out;
}

describe('source layers', () => {
  it('every folder of src/ has a layer', () => {
    const units = new Set(sources(SRC).map(unitOf));
    assert.deepEqual([...units].filter((u) => !rank.has(u)), [], 'add new folders to LAYERS (and the README\'s source layout)');
  });

  it('imports go down the layers only', () => {
    const found = imports();
    assert.ok(found.length > 200, `read ${found.length} imports`);
    const upward = found.filter((i) => {
      const from = unitOf(join(SRC, i.from));
      return from !== i.to && rank.get(i.to)! >= rank.get(from)!;
    });
    assert.deepEqual(upward.map((i) => `src/${i.from} imports ${i.spec} (${i.to}, not below ${unitOf(join(SRC, i.from))})`), []);
  });
});
