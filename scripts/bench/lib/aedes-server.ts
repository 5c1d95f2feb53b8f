// The baseline: Aedes with nothing added (in-memory persistence, no hooks), in its own
// process like the daemon, so the comparison isolates what edgebus does per message.
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

const aedes = new Aedes();
await aedes.listen();
// Same socket options as edgebus' broker, so the comparison is like for like.
const server = createServer({ noDelay: true }, aedes.handle);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(JSON.stringify({ brokerPort: port }) + '\n');
});

const shutdown = () => {
  server.close();
  aedes.close(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
