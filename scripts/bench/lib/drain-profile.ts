// A V8 CPU profile of the daemon cut down to the drain: the daemon also builds the backlog
// (ingest) and stops, so only the samples between the link's return and the backlog's end
// are summarised, located by their distance from the profile's end (the daemon's exit).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ProfileSummary, SelfTime } from './cpuprofile.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  endTime: number;
}

export function newestProfile(dir: string): string | null {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  return files.at(-1) ?? null;
}

function moduleOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const src = url.indexOf('/dist/src/');
  return src >= 0 ? 'edgebus:' + url.slice(src + 10) : url.replace(/^file:\/\//, '');
}

function where(url: string, line: number): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('/node_modules/');
  return `${nm >= 0 ? url.slice(nm + 14) : url.replace(/^.*\/dist\//, '')}:${line + 1}`;
}

/** Self time by function and module of the samples from `fromEndMs` to `toEndMs` before the profile's end. */
export function summariseWindow(file: string, fromEndMs: number, toEndMs: number, n = 20): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const start = p.endTime - fromEndMs * 1000;
  const end = p.endTime - toEndMs * 1000;
  let t = p.endTime;
  for (const d of p.timeDeltas) t -= d;
  // t is now the first sample's time; walk forward.
  const fns = new Map<string, { name: string; where: string; ms: number }>();
  const mods = new Map<string, { name: string; where: string; ms: number }>();
  let totalMs = 0;
  let idleMs = 0;
  for (let i = 0; i + 1 < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < start || t > end) continue;
    const ms = p.timeDeltas[i + 1] / 1000;
    const frame = byId.get(p.samples[i])?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    totalMs += ms;
    const w = where(frame.url, frame.lineNumber);
    const key = `${frame.functionName}@${w}`;
    const f = fns.get(key) ?? { name: frame.functionName || '(anonymous)', where: w, ms: 0 };
    f.ms += ms;
    fns.set(key, f);
    const mk = moduleOf(frame.url, frame.functionName);
    const m = mods.get(mk) ?? { name: mk, where: '', ms: 0 };
    m.ms += ms;
    mods.set(mk, m);
  }
  const top = (map: Map<string, { name: string; where: string; ms: number }>): SelfTime[] =>
    [...map.values()].sort((a, b) => b.ms - a.ms).slice(0, n).map((e) => ({ ...e, percent: (100 * e.ms) / totalMs }));
  return { file, totalMs, idleMs, functions: top(fns), modules: top(mods) };
}
