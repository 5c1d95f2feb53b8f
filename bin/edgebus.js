#!/usr/bin/env -S node --max-semi-space-size=32 --no-opt
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script).
//
// The young generation is sized for the commit pipeline: a reading's objects live until
// its group is durable (~10 ms under load); in Node's default 16 MB semi-space they
// survive scavenges and are promoted, which costs old-space collections. Measured
// (npm run bench:ingest): +15-20 % throughput, the same peak RSS. It is a ceiling: under
// EDGEBUS_HEAP=auto (the default) the young generation grows toward it only while the daemon
// is saturated. `npm start`, the systemd unit and the benchmark all run the daemon through
// this line.
import { checkPlatform } from '../dist/src/util/platform-check.js';

// Before the CLI is imported: its import graph loads the native prebuilds, and an old C
// library or an install made for another CPU would fail there as a bare dlopen trace.
const platform = checkPlatform();
for (const w of platform.warnings) process.stderr.write(`edgebus: warning: ${w}\n`);
if (platform.fatal.length > 0) {
  for (const f of platform.fatal) process.stderr.write(`${f}\n`);
  process.exitCode = 2;
} else {
  if (process.argv[2] !== 'start') {
    // The shebang's --no-opt is for the daemon's start-up only (src/cli/startup-tiering.ts).
    const { enableOptimizingCompiler } = await import('../dist/src/cli/startup-tiering.js');
    enableOptimizingCompiler();
  } else {
    // Before the daemon's modules load, so that their start-up garbage is collected under the
    // heap mode too (src/cli/heap-mode.ts).
    const { applyStartupHeap } = await import('../dist/src/cli/heap-mode.js');
    applyStartupHeap(process.env);
  }
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(process.argv.slice(2));
}
