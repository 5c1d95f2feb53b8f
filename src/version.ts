export const version = "0.1.0";

/**
 * When this release was made (epoch ms). A wall clock earlier than this cannot be right: the
 * gateway then treats it as unsynchronised and does not start its monotonic clock there.
 */
export const RELEASED_AT = Date.UTC(2026, 11, 1);
