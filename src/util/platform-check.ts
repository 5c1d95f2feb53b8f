// The start-up gate that bin/edgebus.js runs before it imports the CLI: every verb's import
// graph loads the native modules, so a system that cannot load them is refused here, once,
// with the reason and the fix.
import { probeNativeModules, type NativeModule } from './native-modules.js';
import { currentPlatform, decidePlatform } from './platform.js';

/**
 * Stands in for the runtime's glibc version, only so that tests (and CI under qemu) can see
 * the refusal an old system gets; nothing else reads it.
 */
export const GLIBC_OVERRIDE_ENV = 'EDGEBUS_TEST_GLIBC';

export interface PlatformCheck {
  /** Reasons to refuse to run, each a whole sentence; empty when the system is fine. */
  readonly fatal: string[];
  /** What runs, but worse than it should (the pure-JS CBOR decoder). */
  readonly warnings: string[];
}

export function checkPlatform(env: NodeJS.ProcessEnv = process.env, modules?: readonly NativeModule[]): PlatformCheck {
  const verdict = decidePlatform(currentPlatform(env[GLIBC_OVERRIDE_ENV] || undefined));
  // With the C library already too old, loading the prebuilds would only add dlopen noise.
  if (!verdict.ok) return { fatal: [verdict.reason], warnings: [] };
  const fatal: string[] = [];
  const warnings: string[] = [];
  for (const p of probeNativeModules(modules)) {
    if (p.module.optional) warnings.push(`${p.reason}; edgebus runs on the slower pure-JS decoder`);
    else fatal.push(`edgebus cannot start: ${p.reason}`);
  }
  return { fatal, warnings };
}
