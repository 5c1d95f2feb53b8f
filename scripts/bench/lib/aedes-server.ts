// The baseline: Aedes with nothing added (in-memory persistence, no hooks), in its own
// process like the daemon, so the comparison isolates what edgebus does per message.
import { Aedes } from 'aedes';
import { serveAedes } from './serve-aedes.js';

await serveAedes(new Aedes());
