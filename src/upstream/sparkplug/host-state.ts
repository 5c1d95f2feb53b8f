// The primary host application's STATE (Sparkplug 3.0 "Primary Host Application STATE"):
// a retained JSON `{"online": bool, "timestamp": ms}`. A message counts only when its
// timestamp is not older than the last online one, so a late death of an old host session
// cannot take down the one that replaced it.

export type HostVerdict = 'online' | 'offline' | 'stale' | 'invalid';

export class PrimaryHostState {
  /** The timestamp of the last online STATE taken; kept across connections. */
  private onlineSince: number | null = null;
  private current = false;

  get online(): boolean {
    return this.current;
  }

  /** Every new connection must see the host online again before it births. */
  forget(): void {
    this.current = false;
  }

  take(payload: Buffer): HostVerdict {
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      return 'invalid';
    }
    if (typeof msg !== 'object' || msg === null) return 'invalid';
    const { online, timestamp } = msg as { online?: unknown; timestamp?: unknown };
    if (typeof online !== 'boolean' || typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return 'invalid';
    if (this.onlineSince !== null && timestamp < this.onlineSince) return 'stale';
    if (online) this.onlineSince = timestamp;
    this.current = online;
    return online ? 'online' : 'offline';
  }
}
