// setTimeout takes at most 2^31 − 1 ms (24.8 days); past that Node warns
// (TimeoutOverflowWarning) and fires after 1 ms instead. A delay computed from stored times
// can be anything: clamp it, and the timer re-checks what is due when it fires.
const MAX_DELAY_MS = 2 ** 31 - 1;

export function timerDelay(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), MAX_DELAY_MS) : MAX_DELAY_MS;
}
