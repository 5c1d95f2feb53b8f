// The log's durable head, for readers that follow it live (event-stream.ts): one bus
// listener for all of them, and a wake-up when the head moves. It carries no events: a
// follower reads the new range from the store itself, at its own pace.
import type { EventBus } from '../pipeline/bus.js';

const OWNER = 'commit-signal';

export class CommitSignal {
  private readonly waiters = new Set<() => void>();
  private closed = false;

  /** `head`: the last seq the log has made durable (Appender.committedSeq). */
  constructor(private readonly bus: EventBus, private readonly head: () => number) {
    // The appender emits 'committed' once the group is durable and its seq recorded.
    bus.on(OWNER, 'committed', () => this.wake());
  }

  get committedSeq(): number {
    return this.head();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves true once the log is durable past `seq`; false if closed or `signal` aborts first. */
  past(seq: number, signal: AbortSignal): Promise<boolean> {
    if (this.closed || signal.aborted) return Promise.resolve(false);
    if (this.head() > seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        const stop = this.closed || signal.aborted;
        // A group of rejected payloads or duplicates commits without moving the head.
        if (!stop && this.head() <= seq) return;
        this.waiters.delete(check);
        signal.removeEventListener('abort', check);
        resolve(!stop);
      };
      this.waiters.add(check);
      signal.addEventListener('abort', check);
    });
  }

  /** Releases every waiter (with false) and stops listening. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bus.removeOwner(OWNER);
    this.wake();
  }

  private wake(): void {
    // Waiters that are satisfied remove themselves: iterate a copy.
    if (this.waiters.size === 0) return;
    for (const check of [...this.waiters]) check();
  }
}
