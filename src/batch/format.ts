// The upstream batch's envelope as a versioned format (README "Batch format"): what the
// forwarder writes and what `edgebus/batch` reads. Changing anything a reader sees means a
// new version number; the golden files in test/fixtures/batches keep every old one readable.

/** The version the forwarder writes today. */
export const BATCH_FORMAT_VERSION = 1;

/** Versions this decoder reads. A batch without `version` predates the field and is version 1. */
export const KNOWN_BATCH_VERSIONS: readonly number[] = [1];

/** The MQTT 5 content types of the two encodings. */
export const BATCH_CONTENT_TYPES = { cbor: 'application/cbor', json: 'application/json' } as const;
export type BatchEncoding = keyof typeof BATCH_CONTENT_TYPES;
