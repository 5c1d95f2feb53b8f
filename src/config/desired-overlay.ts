// The part of the config a desired-state document sets (its `routes` and allow-listed
// `config` keys), kept by the gateway in its own file in dataDir and laid over the local
// edgebus.yaml at every load: the operator's file is never rewritten by a remote party, and
// deleting the overlay returns the gateway to its local config.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import type { DesiredConfig } from './desired-schema.js';
import type { RawRoute } from './schema.js';

export const DESIRED_OVERLAY_FILE = 'desired-config.yaml';

export interface DesiredOverlay {
  /** Replaces the local routes as a whole when present. */
  routes?: RawRoute[];
  config?: DesiredConfig;
}

export const overlayText = (overlay: DesiredOverlay): string => stringify(overlay);

/** The overlay in `dataDir`, or null when there is none. */
export function readOverlay(dataDir: string, cwd: string): { file: string; overlay: DesiredOverlay } | null {
  const file = join(resolve(cwd, dataDir), DESIRED_OVERLAY_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  const overlay: unknown = parse(text);
  if (overlay === null || overlay === undefined) return null;
  if (typeof overlay !== 'object' || Array.isArray(overlay)) throw new Error(`${file}: expected a mapping of routes and config`);
  return { file, overlay: overlay as DesiredOverlay };
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    if (isMap(v) && isMap(into[k])) deepMerge(into[k], v);
    else if (isMap(v)) into[k] = structuredClone(v);
    else into[k] = v;
  }
}

/**
 * Lays the overlay over the raw config data. `upstream.*` keys tune an upstream section
 * the local file has; they never create one (it would lack its url).
 */
export function mergeOverlay(data: Record<string, unknown>, overlay: DesiredOverlay): void {
  if (overlay.routes !== undefined) data.routes = structuredClone(overlay.routes);
  if (!overlay.config) return;
  const { upstream, ...rest } = overlay.config as Record<string, unknown>;
  if (isMap(upstream) && isMap(data.upstream)) deepMerge(data.upstream, upstream);
  for (const [k, v] of Object.entries(rest)) {
    if (!isMap(v)) continue;
    if (!isMap(data[k])) data[k] = {};
    deepMerge(data[k] as Record<string, unknown>, v);
  }
}
