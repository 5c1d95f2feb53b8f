// Loads each native binding once, up front, so that a missing or unloadable prebuild is
// reported as what it means (wrong CPU install, old C library) instead of as the stack of
// whichever import happened to load it first. The daemon loads the same files right after:
// the dynamic linker keeps them, so the probe costs no second load.
import { createRequire } from 'node:module';

export interface NativeModule {
  /** The npm package, as users see it in `npm ls`. */
  readonly name: string;
  /** What requiring `entry` loads; a required module throws when its prebuild cannot load. */
  readonly entry: string;
  /** Whether edgebus can run without it (cbor-x has a slower pure-JS decoder). */
  readonly optional: boolean;
}

export const NATIVE_MODULES: readonly NativeModule[] = [
  { name: 'classic-level', entry: 'classic-level/binding.js', optional: false },
  { name: '@serialport/bindings-cpp', entry: '@serialport/bindings-cpp', optional: false },
  { name: 'cbor-extract', entry: 'cbor-extract', optional: true },
];

export interface NativeProblem {
  readonly module: NativeModule;
  readonly reason: string;
}

/** Turns a loader error into what to do about it. */
export function explainLoadError(mod: NativeModule, err: unknown, where: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const symbol = /version [`'"]?((?:GLIBC|GLIBCXX|CXXABI)_[\d.]+)/.exec(message);
  if (symbol) {
    return `the ${mod.name} prebuild needs ${symbol[1]}, which this system's C/C++ runtime lacks: upgrade the OS (see "Supported platforms" in the README)`;
  }
  if (/No native build was found/.test(message)) {
    return `no ${mod.name} prebuild for ${where} was installed: run \`npm ci --omit=dev\` on this machine (an install copied from another CPU lacks it)`;
  }
  if (/wrong ELF class|cannot open shared object|invalid ELF header|exec format error/i.test(message)) {
    return `the installed ${mod.name} prebuild is not for ${where}: run \`npm ci --omit=dev\` on this machine (${message.split('\n')[0]})`;
  }
  return `${mod.name} could not be loaded: ${message.split('\n')[0]}`;
}

/** Requires each module from the installed tree; returns what failed, in table order. */
export function probeNativeModules(modules: readonly NativeModule[] = NATIVE_MODULES, from: string = import.meta.url): NativeProblem[] {
  const require = createRequire(from);
  const where = `${process.platform}-${process.arch}`;
  const problems: NativeProblem[] = [];
  for (const mod of modules) {
    try {
      require(mod.entry);
    } catch (err) {
      problems.push({ module: mod, reason: explainLoadError(mod, err, where) });
    }
  }
  return problems;
}
