// What `edgebus devices` and `/api/devices` answer: the device-state projection as the store
// holds it, with each device's profile (devices/*.yaml) merged in at read time. The store
// knows nothing of profiles; the profiles are read as they are now, so an edited profile
// shows at once and needs no rebuild.
import { basename } from 'node:path';
import { loadDevicesDir } from '../devices/loader.js';
import type { DeviceProfile } from '../devices/types.js';
import type { JsonValue } from '../events/types.js';
import { readDeviceState, readDeviceStates, type DeviceState } from '../store/device-state.js';
import type { EventStore } from '../store/event-store.js';

/** What a device's profile says of it. */
export interface ProfileInfo {
  /** The profile's file name in the devices dir. */
  file: string;
  description: string | null;
  format: string;
  sensors: { name: string; unit: string | null }[];
  /** True when the profile says how a Command is written to the device. */
  commands: boolean;
}

export interface DeviceView extends DeviceState {
  profile: ProfileInfo | null;
}

function profileInfo(p: DeviceProfile): ProfileInfo {
  return {
    file: basename(p.file), description: p.description, format: p.format,
    sensors: p.fields.map((f) => ({ name: f.name, unit: f.unit })), commands: p.commands !== null,
  };
}

/** The device's own status wins over its profile: it says what it runs now. */
function view(state: DeviceState, profile: DeviceProfile | undefined): DeviceView {
  if (profile === undefined) return { ...state, profile: null };
  const info = profileInfo(profile);
  const fromProfile: { [key: string]: JsonValue } = { capabilities: info.sensors.map((s) => s.name) };
  if (info.description !== null) fromProfile.description = info.description;
  return { ...state, metadata: { ...fromProfile, ...state.metadata }, profile: info };
}

function profilesById(devicesDir: string): Map<string, DeviceProfile> {
  // A profile that does not load is `edgebus check`'s to report: here it only lacks its metadata.
  return new Map(loadDevicesDir(devicesDir).profiles.map((p) => [p.id, p]));
}

/** Every device the projection holds, in id order. */
export async function listDeviceViews(store: EventStore, devicesDir: string): Promise<DeviceView[]> {
  const profiles = profilesById(devicesDir);
  return (await readDeviceStates(store)).map((s) => view(s, profiles.get(s.id)));
}

/** One device, or null when the projection does not know it. */
export async function deviceView(store: EventStore, devicesDir: string, id: string): Promise<DeviceView | null> {
  const state = await readDeviceState(store, id);
  return state === null ? null : view(state, profilesById(devicesDir).get(id));
}
