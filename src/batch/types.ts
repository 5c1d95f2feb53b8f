// The public shape of a decoded batch. Plain data: what a consumer in another program
// needs, with the event type the gateway itself uses.
import type { EdgeEvent } from '../events/types.js';

export type { EdgeEvent, EventMetadata, EventType, JsonObject, JsonValue, Priority } from '../events/types.js';

/** An event as it travels upstream: the stored event plus the gateway's corrected time for it. */
export type BatchEvent = EdgeEvent & {
  /** `timestamp` corrected for the gateway's clock steps (ISO); absent only from batches written before it existed. */
  correctedTimestamp?: string;
};

export interface Batch {
  /** Format version (1). */
  version: number;
  gatewayId: string;
  /** The gateway's message counter (goes on across restarts): for logs, not an identity. */
  batch: number;
  /** In `seq` order, strictly increasing. */
  events: BatchEvent[];
}

/** One thing wrong with a batch: where (`events[3].seq`) and what was expected. */
export interface BatchProblem {
  path: string;
  message: string;
}
