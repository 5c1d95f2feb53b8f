// The device profile the simulator plays, read by the daemon's own loader: the simulator
// accepts exactly the profiles the gateway accepts, with the same messages.
import { formatIssue } from '../../src/config/validate.js';
import { loadDeviceFile } from '../../src/devices/loader.js';
import type { DeviceProfile } from '../../src/devices/types.js';

/** The profile in `file`, or an error listing what is wrong with it (file:line: key: message). */
export function loadProfile(file: string): DeviceProfile {
  const { profile, issues } = loadDeviceFile(file);
  if (!profile) {
    const said = issues.length ? issues.map(formatIssue).join('\n  ') : 'the file holds no profile (only comments?)';
    throw new Error(`${file}: not a usable device profile:\n  ${said}`);
  }
  return profile;
}
