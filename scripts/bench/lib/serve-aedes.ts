// The bench's stand-alone brokers: Aedes on a free loopback port, announced on stdout as
// the ready line the bench waits for, stopped by SIGTERM or SIGINT.
import { createServer, type AddressInfo } from 'node:net';
import type { Aedes } from 'aedes';

export async function serveAedes(aedes: Aedes, beforeExit: () => Promise<void> = async () => {}): Promise<void> {
  await aedes.listen();
  // Same socket options as edgebus' broker, so the comparison is like for like.
  const server = createServer({ noDelay: true }, aedes.handle);
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(JSON.stringify({ brokerPort: port }) + '\n');
  });
  const shutdown = () => {
    server.close();
    aedes.close(() => void beforeExit().then(() => process.exit(0)));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
