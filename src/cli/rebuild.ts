// `edgebus rebuild state`: folds the log again into the device-state projection. The
// running daemon keeps its projection in step with every commit (and holds the store's
// lock), so a rebuild is work for a stopped daemon: with one running it refuses.
import type { Config } from '../config/types.js';
import { rebuildDeviceStates } from '../store/device-state.js';
import { RuntimeFailure, UsageError, type Io } from './args.js';
import { withStore } from './store-access.js';

export async function runRebuild(config: Config, args: string[], io: Io): Promise<void> {
  if (args.length !== 1 || args[0] !== 'state') throw new UsageError('usage: edgebus rebuild state');
  const devices = await withStore(config, (store) => rebuildDeviceStates(store), () => {
    throw new RuntimeFailure('rebuild state needs the daemon stopped (it keeps the device state itself while it runs); stop it and run this again');
  });
  io.out(`device state rebuilt from the log: ${devices} device${devices === 1 ? '' : 's'}\n`);
}
