// Summarises a V8 .cpuprofile: where the daemon's single JS thread spends its time,
// by function (self time) and by module, so a profile can be read without DevTools.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Time the thread was busy; percentages are of this. */
  totalMs: number;
  idleMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

/** node_modules/<pkg>, src/<dir>/<file>, node:<builtin>, or V8's own buckets such as (garbage collector). */
function moduleOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const src = url.indexOf('/dist/src/');
  if (src >= 0) return 'edgebus:' + url.slice(src + 10);
  return url.replace(/^file:\/\//, '');
}

function shortUrl(frame: CallFrame): string {
  if (frame.url === '') return '';
  const nm = frame.url.lastIndexOf('/node_modules/');
  const path = nm >= 0 ? frame.url.slice(nm + 14) : frame.url.replace(/^.*\/dist\//, '');
  return `${path}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, { name: string; where: string; ms: number }>, totalMs: number, n: number): SelfTime[] {
  return [...map.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n)
    .map((e) => ({ ...e, percent: (100 * e.ms) / totalMs }));
}

export function summariseProfile(file: string, n = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  // A sample lasts until the next one; its time is the node's self time.
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i + 1 < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1];
    const id = profile.samples[i];
    // Idle is waiting on the event loop, not work: kept out of the percentages.
    if (byId.get(id)?.callFrame.functionName === '(idle)') {
      idleUs += dt;
      continue;
    }
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    totalUs += dt;
  }
  const fns = new Map<string, { name: string; where: string; ms: number }>();
  const mods = new Map<string, { name: string; where: string; ms: number }>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const where = shortUrl(frame);
    const fnKey = `${frame.functionName}@${where}`;
    const fn = fns.get(fnKey) ?? { name: frame.functionName || '(anonymous)', where, ms: 0 };
    fn.ms += us / 1000;
    fns.set(fnKey, fn);
    const modKey = moduleOf(frame);
    const mod = mods.get(modKey) ?? { name: modKey, where: '', ms: 0 };
    mod.ms += us / 1000;
    mods.set(modKey, mod);
  }
  const totalMs = totalUs / 1000;
  return { file, totalMs, idleMs: idleUs / 1000, functions: top(fns, totalMs, n), modules: top(mods, totalMs, n) };
}
