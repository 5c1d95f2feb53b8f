// Who may use the embedded broker, and how much (SPEC §2 `broker`): the connection limit,
// sign-in (scrypt-hashed passwords, or a client certificate's CN over TLS), per-user topic
// rules for publish and subscribe (`{username}` lets one entry cover a fleet), the $SYS/
// guard, the topic depth and a per-client publish rate. Every refusal is counted and
// logged with its reason — never with the password.
import type { TLSSocket } from 'node:tls';
import type { AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import type { BrokerUserConfig } from '../config/types.js';
import { verifyPassword } from '../security/password.js';
import { compileTopicRule, type TopicRule } from '../security/topic-acl.js';
import type { Logger } from '../util/log.js';

const SYS_PREFIX = '$SYS/';

export type RefusalReason =
  | 'too-many-connections'
  | 'anonymous'
  | 'bad-credentials'
  | 'publish-not-allowed'
  | 'subscribe-not-allowed'
  | 'sys-topic'
  | 'topic-too-deep'
  | 'rate-limited';

export interface AccessOptions {
  users: readonly BrokerUserConfig[];
  allowAnonymous: boolean;
  limits: { connections: number; publishRate: number; topicLevels: number };
  log: Logger;
  onRefusal?: (reason: RefusalReason) => void;
}

interface User {
  name: string;
  hash: string | null;
  publish: TopicRule;
  subscribe: TopicRule;
}

/** Who a connected client is, and its publish budget (a token bucket of one second). */
interface Session {
  user: User | null;
  username: string | null;
  tokens: number;
  refilled: number;
}

const ANYWHERE = compileTopicRule(undefined);

export class BrokerAccess {
  private readonly users = new Map<string, User>();
  private readonly sessions = new WeakMap<Client, Session>();
  private connections = 0;

  constructor(private readonly opts: AccessOptions, private readonly now: () => number = Date.now) {
    for (const u of opts.users) {
      this.users.set(u.username, { name: u.username, hash: u.passwordHash, publish: compileTopicRule(u.publish), subscribe: compileTopicRule(u.subscribe) });
    }
  }

  get connected(): number {
    return this.connections;
  }

  private refuse(reason: RefusalReason, client: Client | null, detail: Record<string, unknown> = {}): void {
    this.opts.onRefusal?.(reason);
    this.opts.log.warn({ reason, clientId: client?.id ?? null, address: client?.conn && 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined, ...detail }, `broker refused: ${reason}`);
  }

  /** Takes a connection slot for a new socket; false when none is left. */
  admit(): boolean {
    if (this.connections >= this.opts.limits.connections) {
      this.refuse('too-many-connections', null, { limit: this.opts.limits.connections });
      return false;
    }
    this.connections++;
    return true;
  }

  /** An admitted socket closed. */
  leave(): void {
    this.connections--;
  }

  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: AuthenticateError | null, ok: boolean) => void): void {
    const fail = (reason: RefusalReason, code: 4 | 5): void => {
      this.refuse(reason, client, { username: username ?? null });
      done(Object.assign(new Error(reason), { returnCode: code }) as AuthenticateError, false);
    };
    const certName = certificateName(client);
    if (certName !== null && (username === undefined || username === certName)) {
      // A certificate the TLS listener verified against broker.tls.ca is the identity.
      this.start(client, this.users.get(certName) ?? null, certName);
      return done(null, true);
    }
    if (username === undefined || username === '') {
      if (!this.opts.allowAnonymous) return fail('anonymous', 5);
      this.start(client, null, null);
      return done(null, true);
    }
    const user = this.users.get(username);
    if (!user || user.hash === null || password === undefined) {
      // Same answer, same work as a wrong password: an unknown name is not told apart.
      void verifyPassword(password?.toString('utf8') ?? '', DUMMY_HASH).then(() => fail('bad-credentials', 4));
      return;
    }
    verifyPassword(password.toString('utf8'), user.hash).then((ok) => {
      if (!ok) return fail('bad-credentials', 4);
      this.start(client, user, username);
      done(null, true);
    }, () => fail('bad-credentials', 4));
  }

  private start(client: Client, user: User | null, username: string | null): void {
    this.sessions.set(client, { user, username, tokens: this.opts.limits.publishRate, refilled: this.now() });
  }

  /** Why a publish is refused, or null. Refused publishes close the connection (MQTT-3.3.5-2). */
  checkPublish(client: Client | null, packet: PublishPacket): RefusalReason | null {
    const topic = packet.topic;
    if (topic.startsWith(SYS_PREFIX)) return this.refused('sys-topic', client, topic);
    if (client === null) return null; // a Last Will Aedes publishes after the client is gone
    if (levels(topic) > this.opts.limits.topicLevels) return this.refused('topic-too-deep', client, topic);
    const session = this.sessions.get(client);
    const rule = session?.user?.publish ?? ANYWHERE;
    if (!rule(topic, session?.username ?? null)) return this.refused('publish-not-allowed', client, topic);
    if (session && this.opts.limits.publishRate > 0 && !this.spend(session)) return this.refused('rate-limited', client, topic);
    return null;
  }

  private refused(reason: RefusalReason, client: Client | null, topic: string): RefusalReason {
    this.refuse(reason, client, { topic });
    return reason;
  }

  private spend(s: Session): boolean {
    const rate = this.opts.limits.publishRate;
    const now = this.now();
    s.tokens = Math.min(rate, s.tokens + ((now - s.refilled) * rate) / 1000);
    s.refilled = now;
    if (s.tokens < 1) return false;
    s.tokens--;
    return true;
  }

  authorizeSubscribe(client: Client | null, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    if (sub.topic.startsWith(SYS_PREFIX) || sub.topic === '$SYS' || sub.topic.startsWith('$SYS/')) {
      this.refuse('sys-topic', client, { topic: sub.topic });
      return done(null, null);
    }
    const session = client ? this.sessions.get(client) : undefined;
    const rule = session?.user?.subscribe ?? ANYWHERE;
    if (!rule(sub.topic, session?.username ?? null)) {
      this.refuse('subscribe-not-allowed', client, { topic: sub.topic });
      // A negative SUBACK for this filter; the client stays connected.
      return done(null, null);
    }
    done(null, sub);
  }
}

/** A hash with the real parameters, for sign-ins with an unknown name. */
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function levels(topic: string): number {
  let n = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 47) n++;
  return n;
}

/** The CN of a client certificate the TLS listener verified; null for plain TCP or none. */
function certificateName(client: Client): string | null {
  const conn = client.conn;
  // Only a TLSSocket is `encrypted` (checked without importing node:tls: see broker.ts).
  if (!(conn as Partial<TLSSocket>).encrypted) return null;
  const tls = conn as TLSSocket;
  if (!tls.authorized) return null;
  const cn: unknown = tls.getPeerCertificate()?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === 'string' && name.length > 0 ? name : null;
}
