// What every kind of device adapter does with what it reads: frames that decode become
// events through the appender (then the local republish), frames that do not go to the
// rejected store with their bytes, and the device's state is announced once per change.
import { makeRejected, type Rejection } from '../store/rejected.js';
import type { Appender } from '../pipeline/appender.js';
import type { Logger } from '../util/log.js';
import type { PayloadSchemas } from '../ingest/payload-schemas.js';
import { FrameEventMaker } from './frame-events.js';
import type { DecodedFrame, DeviceProfile } from './types.js';

export interface DeviceSinks {
  appender: Appender;
  publishLocal: (topic: string, payload: Buffer, opts: { qos: 0 | 1; retain: boolean }) => Promise<void>;
  log: Logger;
  /** The gateway clock: a reading's receive time. Default: the wall clock. */
  now?: () => number;
  /** Payload schemas readings are checked against, as MQTT readings are; absent: none. */
  schemas?: PayloadSchemas | null;
}

export interface DeviceCounters {
  frames: number;
  readings: number;
  rejected: number;
  /** Frames that carried nothing to record (a CSV header, an NMEA sentence without a fix). */
  ignored: number;
}

export interface DeviceStatusInfo extends DeviceCounters {
  id: string;
  format: string;
  state: 'opening' | 'online' | 'offline' | 'stopped';
  path: string | null;
  reason: string | null;
  lastReading: { sensor: string; value: number | string | boolean; unit: string | null; at: string } | null;
}

export class DeviceEvents {
  readonly counters: DeviceCounters = { frames: 0, readings: 0, rejected: 0, ignored: 0 };
  lastReading: DeviceStatusInfo['lastReading'] = null;
  private announced: 'online' | 'offline' | null = null;
  private readonly maker: FrameEventMaker;
  private readonly now: () => number;
  /** The pseudo-topic rejected frames are filed under. */
  private readonly topic: string;

  constructor(private readonly profile: DeviceProfile, private readonly sinks: DeviceSinks) {
    this.maker = new FrameEventMaker(profile, sinks.schemas ?? null);
    this.now = sinks.now ?? Date.now;
    this.topic = `serial/${profile.id}`;
  }

  /** A decoded frame: its readings are stored, then republished on the local broker. */
  frame(decoded: DecodedFrame, raw: Buffer): void {
    this.counters.frames++;
    if (decoded.readings.length === 0) {
      this.counters.ignored++;
      return;
    }
    const now = this.now();
    const out = this.maker.readings(decoded, now);
    if (!out.ok) return this.reject(raw, out.rejection);
    for (const r of out.readings) {
      this.counters.readings++;
      this.sinks.appender.submitEvent(r.draft, (err) => {
        if (err) return; // the store is refusing writes: the appender reports it
        this.sinks.publishLocal(r.topic, r.payload, { qos: 0, retain: false }).catch(() => {});
      });
    }
    const last = decoded.readings[decoded.readings.length - 1];
    this.lastReading = { sensor: last.sensor, value: last.value, unit: last.unit, at: new Date().toISOString() };
  }

  /** A frame that did not decode: kept with its bytes and the reason. */
  reject(raw: Buffer, rejection: Rejection): void {
    this.counters.frames++;
    this.counters.rejected++;
    this.sinks.log.debug({ device: this.profile.id, reason: rejection.detail }, 'frame rejected');
    this.sinks.appender.submitRejected(makeRejected(this.topic, raw, rejection, this.profile.id), () => {});
  }

  /** DeviceStatus, stored and published retained on devices/<id>/status, once per change. */
  announce(state: 'online' | 'offline', reason: string | null): void {
    if (this.announced === state) return;
    this.announced = state;
    const draft = this.maker.status(state, reason, this.now());
    this.sinks.appender.submitEvent(draft, () => {});
    const body = JSON.stringify(reason === null ? { state } : { state, reason });
    this.sinks.publishLocal(`devices/${this.profile.id}/status`, Buffer.from(body), { qos: 1, retain: true }).catch(() => {});
  }
}
