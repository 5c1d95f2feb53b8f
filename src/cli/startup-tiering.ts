// bin/edgebus.js starts node with --no-opt: the daemon's start-up (YAML, schema compiles,
// rule and profile compiles, the store's open) is code that runs once, and optimising it
// with TurboFan left ~8 MiB resident for nothing — the optimised code, the compiler's
// memory and the pages of the node binary the compiler lives in (idle RSS 70 → 62 MiB in
// npm run bench:memory). The hot paths (ingest, commit, rules, drain) only become hot once
// the daemon serves, so the optimising tier is switched back on then; V8 reads the flag
// at each tier-up decision. Every other verb gets it back before it starts.
import v8 from 'node:v8';

export function enableOptimizingCompiler(): void {
  v8.setFlagsFromString('--opt');
}
