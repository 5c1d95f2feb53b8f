// The live stream's own parts (src/http/event-stream.ts) over a real store and appender, on
// a plain HTTP server: heartbeats on an idle stream, and no new stream once it is closed.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { EventStreams } from '../../src/http/event-stream.js';
import { createLogger } from '../../src/util/log.js';
import { seqDraft } from '../helpers/drafts.js';
import { follow, refusal } from '../helpers/sse.js';
import { openRig } from '../helpers/store.js';
import { tempDirFor } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

async function serve(streams: EventStreams): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => void streams.serve({}, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test('an idle stream carries heartbeat comments; a closed one ends and refuses new followers', async (t) => {
  const clock = { now: Date.parse('2026-11-26T10:00:00.000Z') };
  const rig = await openRig(tempDirFor(t), clock);
  t.after(() => rig.close());
  await rig.appender.append(seqDraft('hb', 1, clock.now));
  const streams = new EventStreams({
    store: rig.store, bus: rig.bus, committedSeq: () => rig.appender.committedSeq,
    log: createLogger({ level: 'silent', format: 'json' }), heartbeatMs: 10,
  });
  const { server, url } = await serve(streams);
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));

  const f = await follow(url);
  await waitFor(() => f.events.length === 1 && f.comments >= 3, { message: 'the stored event, then heartbeats' });
  await rig.appender.append(seqDraft('hb', 2, clock.now));
  await waitFor(() => f.events.length === 2, { message: 'the new event between heartbeats' });
  assert.deepEqual(f.ids, [1, 2]);

  await streams.close();
  assert.equal(await f.closed, 'end');
  const late = await refusal(url, {});
  assert.equal(late.status, 503);
  assert.match(late.body, /stopping/);
});
