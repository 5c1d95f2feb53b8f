// Whether this system's C library can run edgebus' native prebuilds, decided before any of
// them is loaded: a dlopen failure names a symbol version, not the OS release to move to.
//
// The minimums are the highest GLIBC_/GLIBCXX_ symbol versions that the linux prebuilds of
// classic-level 3, @serialport/bindings-cpp 13 and cbor-extract 2.2 ask for (`readelf -V`
// on each .node file; the README lists them per module). Node 20's own builds need glibc
// 2.28 on x64 and arm64, so only armv7 raises the floor: classic-level's arm prebuild is
// built against glibc 2.34 and GCC 11's libstdc++ (GLIBCXX_3.4.29).

export interface GlibcNeed {
  /** How the README and the messages name the architecture. */
  readonly label: string;
  readonly glibc: string;
  readonly glibcxx: string;
}

/** Per `process.arch`; an arch not listed has no prebuilds and is refused. */
export const GLIBC_NEEDS: Readonly<Record<string, GlibcNeed>> = {
  x64: { label: 'x86_64', glibc: '2.28', glibcxx: '3.4.21' },
  arm64: { label: 'arm64', glibc: '2.28', glibcxx: '3.4.21' },
  arm: { label: 'armv7', glibc: '2.34', glibcxx: '3.4.29' },
};

/** Releases people know their system by, for the glibc versions they ship. */
const RELEASES: Readonly<Record<string, string>> = {
  '2.24': 'Debian/Raspbian Stretch',
  '2.28': 'Debian/Raspberry Pi OS Buster',
  '2.31': 'Debian/Raspberry Pi OS Bullseye, Ubuntu 20.04',
  '2.35': 'Ubuntu 22.04',
  '2.36': 'Debian/Raspberry Pi OS Bookworm',
  '2.39': 'Ubuntu 24.04',
  '2.41': 'Debian Trixie',
};

export interface PlatformFacts {
  readonly platform: string;
  readonly arch: string;
  /** `process.report.getReport().header.glibcVersionRuntime`; absent on musl and non-Linux. */
  readonly glibc: string | undefined;
}

export type PlatformVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Compares dotted versions numerically ('2.4' < '2.34'); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function what(glibc: string): string {
  const release = RELEASES[glibc];
  return release ? `${glibc} (${release})` : glibc;
}

/**
 * Linux with glibc at or above the arch's minimum passes. Elsewhere (macOS, musl) there is
 * no glibc to judge: the native-module probe that follows decides there.
 */
export function decidePlatform(facts: PlatformFacts): PlatformVerdict {
  if (facts.platform !== 'linux' || facts.glibc === undefined) return { ok: true };
  const need = GLIBC_NEEDS[facts.arch];
  if (!need) {
    return {
      ok: false,
      reason: `edgebus has native prebuilds for Linux on ${Object.values(GLIBC_NEEDS).map((n) => n.label).join(', ')}; this system is linux-${facts.arch}: run it on one of those`,
    };
  }
  if (compareVersions(facts.glibc, need.glibc) >= 0) return { ok: true };
  const advice = facts.arch === 'arm'
    ? 'upgrade to Raspberry Pi OS Bookworm (or later), or use the 64-bit OS'
    : `upgrade to a distribution with glibc >= ${need.glibc} (Debian 10 Buster, Ubuntu 20.04 or later)`;
  const needs = facts.arch === 'arm' ? `glibc >= ${need.glibc} on armv7 (Raspberry Pi OS Bookworm)` : `glibc >= ${need.glibc} on ${need.label}`;
  return { ok: false, reason: `edgebus needs ${needs}; this system has ${what(facts.glibc)}: ${advice}` };
}

/** The facts of the running process. `glibcOverride` stands in for the runtime's version. */
export function currentPlatform(glibcOverride?: string): PlatformFacts {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return { platform: process.platform, arch: process.arch, glibc: glibcOverride ?? header?.glibcVersionRuntime };
}
