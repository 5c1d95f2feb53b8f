#!/usr/bin/env -S node --max-semi-space-size=32
// The compiled CLI lives in dist/ (built by `npm install` through the prepare script).
//
// The young generation is sized for the commit pipeline: a reading's objects live until
// its group is durable (~10 ms under load); in Node's default 16 MB semi-space they
// survive scavenges and are promoted, which costs old-space collections. Measured
// (npm run bench:ingest): +15-20 % throughput, the same peak RSS. `npm start`, the
// systemd unit and the benchmark all run the daemon through this line.
import { main } from '../dist/src/cli/main.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
