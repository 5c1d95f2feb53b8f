// A client of the daemon's live stream (`GET /api/events?follow=1`, server-sent events) over
// node:http, so a test can stop reading (pause) and see how the stream ended.
import { request, type IncomingMessage } from 'node:http';
import type { EdgeEvent } from '../../src/events/types.js';

export interface Follower {
  /** Every event received, in arrival order. */
  events: EdgeEvent[];
  /** The `id:` of each event received. */
  ids: number[];
  /** Comment lines (heartbeats) received. */
  comments: number;
  /** Called with each event as its frame arrives (before it is pushed to `events`). */
  onEvent: ((e: EdgeEvent, id: number) => void) | null;
  /** 'end': the daemon ended the stream cleanly; 'aborted': the connection was cut. */
  closed: Promise<'end' | 'aborted'>;
  pause(): void;
  resume(): void;
  close(): void;
}

export interface Refusal {
  status: number;
  body: string;
}

/** Opens a stream; resolves once its headers arrived (a non-200 answer rejects with it). */
export function follow(httpUrl: string, filters: Record<string, string | number> = {}, headers: Record<string, string> = {}): Promise<Follower> {
  const params = new URLSearchParams(Object.entries(filters).map(([k, v]): [string, string] => [k, String(v)]));
  params.set('follow', '1');
  return new Promise((resolve, reject) => {
    const req = request(`${httpUrl}/api/events?${params}`, { headers }, (res) => {
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
        return;
      }
      resolve(reader(res, () => req.destroy()));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The answer to a follow request the daemon refuses. */
export async function refusal(httpUrl: string, filters: Record<string, string | number>, headers: Record<string, string> = {}): Promise<Refusal> {
  try {
    const f = await follow(httpUrl, filters, headers);
    f.close();
  } catch (err) {
    const e = err as Partial<Refusal>;
    if (e.status !== undefined) return { status: e.status, body: e.body ?? '' };
    throw err;
  }
  throw new Error('the stream was opened');
}

function reader(res: IncomingMessage, destroy: () => void): Follower {
  if (!/^text\/event-stream/.test(res.headers['content-type'] ?? '')) throw new Error(`content-type ${res.headers['content-type']}`);
  let buffered = '';
  const f: Follower = {
    events: [], ids: [], comments: 0, onEvent: null,
    closed: new Promise((resolve) => {
      res.once('end', () => resolve('end'));
      res.once('aborted', () => resolve('aborted'));
      res.once('error', () => resolve('aborted'));
    }),
    pause: () => res.pause(),
    resume: () => res.resume(),
    close: destroy,
  };
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let id: number | null = null;
      let data: string | null = null;
      for (const line of frame.split('\n')) {
        if (line.startsWith(':')) f.comments++;
        else if (line.startsWith('id: ')) id = Number(line.slice(4));
        else if (line.startsWith('data: ')) data = line.slice(6);
        else throw new Error(`unexpected line in the stream: ${JSON.stringify(line)}`);
      }
      if (data === null) continue;
      const event = JSON.parse(data) as EdgeEvent;
      if (id === null) throw new Error(`event without an id: ${data}`);
      f.onEvent?.(event, id);
      f.events.push(event);
      f.ids.push(id);
    }
  });
  return f;
}
