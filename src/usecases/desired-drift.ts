// Drift of desired state (README "Fleets" › "Desired state"): the files a document wrote —
// rule files, device profiles, the routes/config overlay — compared by hash with what was
// applied. A file edited, removed or (the overlay) written by hand since is drift: reported,
// not undone.
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { DESIRED_OVERLAY_FILE } from '../config/desired-overlay.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../util/log.js';
import type { DesiredReport } from './desired-state.js';

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The overlay's name in `drift`, so it cannot be taken for a rule file of that name. */
const OVERLAY_DRIFT = `dataDir/${DESIRED_OVERLAY_FILE}`;

/** What was last applied, kept in dataDir so a restart does not apply it again. */
export interface AppliedState {
  version: string | number;
  hash: string;
  /** Managed rule file name → sha256 of the text written. */
  files: Record<string, string>;
  /** Managed device profile name → sha256 (absent in state files of earlier versions). */
  devices?: Record<string, string>;
  /** sha256 of the overlay written, null: none (absent in state files of earlier versions). */
  overlay?: string | null;
  report: DesiredReport;
}

function fileHash(path: string): string | null {
  try {
    return sha256(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** The managed files that no longer hold what was applied: rule files by name, `devices/NAME`, the overlay. */
export function driftOf(config: Pick<Config, 'rulesDir' | 'devicesDir' | 'dataDir'>, applied: AppliedState): string[] {
  const edited = (dir: string, files: Record<string, string>) => Object.entries(files)
    .filter(([name, hash]) => fileHash(join(dir, name)) !== hash)
    .map(([name]) => name).sort();
  // An overlay the applied document left out must stay absent: one written by hand is drift too.
  const overlay = applied.overlay !== undefined && fileHash(join(config.dataDir, DESIRED_OVERLAY_FILE)) !== applied.overlay;
  return [...edited(config.rulesDir, applied.files), ...edited(config.devicesDir, applied.devices ?? {}).map((n) => `devices/${n}`), ...(overlay ? [OVERLAY_DRIFT] : [])];
}

/**
 * The overlay is edited by hand at most, never by the daemon but through an apply: a watch
 * on dataDir's own entries (the store lives in a folder below, whose writes it does not see)
 * reports its drift as it happens rather than at the next start or document.
 */
export function watchOverlay(dataDir: string, changed: () => void, log: Logger): FSWatcher | null {
  try {
    const watcher = watch(dataDir, { persistent: false }, (_event, name) => {
      if (name === DESIRED_OVERLAY_FILE) changed();
    });
    watcher.on('error', (err) => log.warn({ err }, 'desired state: watching the overlay failed; its drift is checked at start and per document'));
    return watcher;
  } catch (err) {
    log.warn({ err }, 'desired state: cannot watch the overlay; its drift is checked at start and per document');
    return null;
  }
}
