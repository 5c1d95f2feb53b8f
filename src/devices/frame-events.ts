// A decoded frame becomes events the way an MQTT reading does: each reading is written as
// the JSON payload a sensor would publish on sensors/<device>/<sensor> and goes through the
// same normalize step, so a serial reading and an MQTT one are the same event. The same
// payload is what the local broker republishes.
import { defaultMetadata, type EventDraft } from '../events/types.js';
import { isoTime } from '../events/iso-time.js';
import { normalize } from '../ingest/normalize.js';
import type { PayloadSchemas } from '../ingest/payload-schemas.js';
import type { TopicMatch } from '../ingest/topics.js';
import type { Rejection } from '../store/rejected.js';
import type { DecodedFrame, DeviceProfile } from './types.js';

export interface FrameReading {
  draft: EventDraft;
  /** The local republish. */
  topic: string;
  payload: Buffer;
}

export type FrameEvents = { ok: true; readings: FrameReading[] } | { ok: false; rejection: Rejection };

export function fillPublishTopic(template: string, device: string, sensor: string): string {
  return template.replaceAll('{device}', device).replaceAll('{sensor}', sensor);
}

export class FrameEventMaker {
  private readonly device: Readonly<{ id: string }>;
  private readonly matches = new Map<string, TopicMatch>();

  private readonly normalizeOpts: { scanner: false; schemas: PayloadSchemas | null };

  constructor(private readonly profile: DeviceProfile, schemas: PayloadSchemas | null = null) {
    this.device = Object.freeze({ id: profile.id });
    this.normalizeOpts = { scanner: false, schemas };
  }

  private match(sensor: string): TopicMatch {
    let m = this.matches.get(sensor);
    if (!m) this.matches.set(sensor, (m = Object.freeze({ type: 'DeviceData', source: this.profile.id, sensor, captures: Object.freeze({}), device: this.device })));
    return m;
  }

  /** All of the frame's readings, or the reason none is taken: a frame is kept or refused whole. */
  readings(frame: DecodedFrame, now: number): FrameEvents {
    const readings: FrameReading[] = [];
    for (const r of frame.readings) {
      const body: Record<string, unknown> = { value: r.value };
      if (r.unit !== null) body.unit = r.unit;
      if (frame.timestamp !== undefined) body.ts = isoTime(frame.timestamp);
      if (frame.location !== undefined) body.location = frame.location;
      const payload = Buffer.from(JSON.stringify(body));
      const result = normalize(this.match(r.sensor), payload, now, this.normalizeOpts);
      if (!result.ok) return { ok: false, rejection: { ...result.rejection, detail: `${r.sensor}: ${result.rejection.detail}` } };
      readings.push({ draft: result.draft, topic: fillPublishTopic(this.profile.publish, this.profile.id, r.sensor), payload });
    }
    return { ok: true, readings };
  }

  /** A DeviceStatus event for the port coming or going. */
  status(state: 'online' | 'offline', reason: string | null, now: number): EventDraft {
    const payload: EventDraft['payload'] = { state };
    if (reason !== null) payload.reason = reason;
    return {
      id: null, type: 'DeviceStatus', source: this.profile.id, timestamp: isoTime(now), payload,
      device: this.device, metadata: defaultMetadata('normal'), deviceSeq: null, explicitId: false, receivedAt: now,
    };
  }
}
