// Aedes' in-memory persistence, for a broker that is alone. Aedes clears the Last Wills of
// brokers that stopped sending heartbeats, judged by the wall clock: after a forward step
// of it (NTP at a Pi's boot) its own heartbeat looks minutes old, it takes itself for dead
// and publishes the Will of every client still connected — every device shows offline.
// The embedded broker has no peers, so the wills it keeps are always its own clients':
// they are published when a client goes, and never by that sweep.
import { createRequire } from 'node:module';
import type { Brokers } from 'aedes';
import type { AedesMemoryPersistence } from 'aedes-persistence';

type MemoryPersistence = AedesMemoryPersistence;
// A CommonJS module whose typings declare a default export it does not have.
const memory = createRequire(import.meta.url)('aedes-persistence') as () => MemoryPersistence;

export function singleBrokerPersistence(): MemoryPersistence {
  const persistence = memory();
  const own = persistence as MemoryPersistence & { setup(broker: { id: string }): Promise<void> };
  const setup = own.setup.bind(own);
  let id: string | null = null;
  // Aedes requires setup to be an async function.
  own.setup = async (broker: { id: string }) => {
    id = broker.id;
    await setup(broker);
  };
  const streamWill = persistence.streamWill.bind(persistence);
  persistence.streamWill = (brokers: Brokers) => streamWill(id === null ? brokers : { ...brokers, [id]: Date.now() });
  return persistence;
}
