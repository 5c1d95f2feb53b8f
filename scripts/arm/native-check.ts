// Run by the arm Node under qemu, from inside a production install made for that CPU
// (scripts/arm/check.sh copies it there): proves that each native module loads its own
// prebuild for this arch, and that cbor-x decodes with cbor-extract rather than falling
// back to JS, which it does silently when the @cbor-extract/* package for the CPU is absent.
// Prints one JSON line; exits 1 on any miss.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

const require = createRequire(import.meta.url);
const failures: string[] = [];

for (const entry of ['classic-level/binding.js', '@serialport/bindings-cpp', 'cbor-extract']) {
  try {
    require(entry);
  } catch (err) {
    failures.push(`${entry} did not load: ${(err as Error).message.split('\n')[0]}`);
  }
}

// The daemon imports cbor-x as ESM; that module instance is the one whose flag counts.
const cbor = await import('cbor-x');
if (!cbor.isNativeAccelerationEnabled) failures.push('cbor-x runs on its JS fallback: cbor-extract was not loaded');
const sample = { id: 'gw:0:1', source: 'greenhouse-1', unit: 'C', note: 'x'.repeat(40) };
const decoded: unknown = cbor.decode(cbor.encode(sample));
if (JSON.stringify(decoded) !== JSON.stringify(sample)) failures.push('cbor-x round trip changed the value');

// A store that opens, writes and reads back: the prebuild works, not only links.
const { ClassicLevel } = await import('classic-level');
const dir = mkdtempSync(join(tmpdir(), 'edgebus-arm-level-'));
try {
  const db = new ClassicLevel<string, string>(dir);
  await db.put('k', 'v');
  if ((await db.get('k')) !== 'v') failures.push('classic-level read back the wrong value');
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Which .node files the dynamic linker mapped: each must be this CPU's prebuild.
interface Report { header: { glibcVersionRuntime?: string; arch: string }; sharedObjects: string[] }
const report = process.report.getReport() as unknown as Report;
const natives = report.sharedObjects.filter((p) => p.endsWith('.node')).map((p) => p.slice(p.lastIndexOf(`node_modules${sep}`) + 13));
const expected: Record<string, RegExp> = {
  'classic-level': new RegExp(`^classic-level/prebuilds/linux-${process.arch}/`),
  '@serialport/bindings-cpp': new RegExp(`^@serialport/bindings-cpp/prebuilds/linux-${process.arch}/`),
  'cbor-extract': new RegExp(`^@cbor-extract/cbor-extract-linux-${process.arch}/`),
};
for (const [name, pattern] of Object.entries(expected)) {
  if (!natives.some((p) => pattern.test(p))) failures.push(`no ${name} prebuild for linux-${process.arch} among the loaded objects: ${natives.join(', ') || 'none'}`);
}

process.stdout.write(JSON.stringify({
  arch: process.arch,
  node: process.version,
  glibc: report.header.glibcVersionRuntime,
  natives,
  cborNative: cbor.isNativeAccelerationEnabled,
  failures,
}) + '\n');
process.exitCode = failures.length ? 1 : 0;
