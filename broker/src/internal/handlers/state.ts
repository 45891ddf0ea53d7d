/**
 * What the Aedes hook handlers (this folder, one file per thing that can arrive) share: the
 * per-connection sessions, the group member cache, the limits, and how a refusal is counted.
 * Built once per broker by `createHookState`; the handlers never import each other.
 */
import type { Client, PublishPacket } from 'aedes';
import type { AclDecision } from '../../acl.ts';
import type { Identity } from '../../identity.ts';
import { PublishLine, TokenBucket } from '../../limits.ts';
import type { BrokerMetrics } from '../../metrics.ts';
import type { PasswordFile } from '../../passwords.ts';
import type { Policy } from '../../policy.ts';
import { silentLogger, type AclStoreQueries, type BrokerLogger } from '../../types.ts';
import { BlockCache } from '../blocks.ts';
import { GroupCache } from '../groups.ts';

/** What the broker remembers about an authenticated connection. */
export interface ClientSession {
  identity: Identity;
  /** Token id (`jti`), for token revocation; absent for things. */
  jti?: string;
  /** Token expiry, ms since the epoch; absent for things (their credential does not expire). */
  expiresAt?: number;
  /**
   * This client's publishes, in arrival order through its rate limit; made at its first publish
   * (`HookState.publishLine`), so an idle connection does not carry one (issue 20).
   */
  publishes?: PublishLine;
  /** The CONNECT will, checked here and again on delivery ([ACL-8]). */
  will?: PublishPacket;
  /** Devices: the account's presence setting as read at connect (the broker tracks changes). */
  presenceVisible?: boolean;
  /** A guest account's device (the token's `gst` claim): [ACL-13] and a slower publish rate. */
  guest?: true;
}

/** A guest device's publish rate and burst are the limits divided by this (docs/API.md "Guests"). */
export const GUEST_RATE_DIVISOR = 4;

/** Rate and size settings the hooks enforce. */
export interface AuthLimits {
  /** Sustained publishes per second per client. */
  publishRatePerSec: number;
  /** Burst size of the per-client bucket. */
  publishBurst: number;
  /** A publish that would wait longer than this for its token closes the connection instead. */
  maxPublishDelayMs: number;
  /** Keepalive bounds (seconds); 0 (no keepalive) is raised to the maximum. */
  keepaliveMinSec: number;
  keepaliveMaxSec: number;
  /** A connected client with more than this many bytes waiting on its socket is a slow consumer and is closed. */
  maxQueuedBytesPerClient: number;
  /** How long a group member list (and a block list, [ACL-12]) is trusted (ms). */
  groupCacheTtlMs: number;
}

/** Defaults for {@link AuthLimits}. */
export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  publishRatePerSec: 200,
  publishBurst: 400,
  maxPublishDelayMs: 5_000,
  keepaliveMinSec: 5,
  keepaliveMaxSec: 300,
  maxQueuedBytesPerClient: 8 * 1024 * 1024,
  groupCacheTtlMs: 5_000,
};

/** State and services shared by the hook handlers. */
export interface HookState {
  limits: AuthLimits;
  log: BrokerLogger;
  metrics: BrokerMetrics | undefined;
  store: AclStoreQueries;
  policy: Policy | undefined;
  /** Operator accounts (Mosquitto password file), for clients of the policy's namespaces. */
  passwords: PasswordFile | undefined;
  /** Clients without a user name are admitted to the policy's anonymous rules. */
  allowAnonymous: boolean;
  /** Authenticated connections. */
  sessions: WeakMap<Client, ClientSession>;
  /** Group member-list cache ([ACL-2]). */
  groups: GroupCache;
  /** Block-list cache ([ACL-12]). */
  blocks: BlockCache;
  /** The client's publish line, made at its first publish (a full bucket, as at connect). */
  publishLine(session: ClientSession): PublishLine;
  /** Count a refusal by the rule that made it. */
  refuse(rule: string, action: 'publish' | 'subscribe' | 'forward'): void;
  /** Settle a decision: `member` verdicts ask the group cache whether the account is a member. */
  resolve(identity: Identity, decision: AclDecision): Promise<boolean>;
}

/** Dependencies of {@link createHookState}. */
export interface HookStateOptions {
  store: AclStoreQueries;
  policy?: Policy | undefined;
  passwords?: PasswordFile | undefined;
  /** Admit anonymous clients (also when the policy says `allow_anonymous true`). */
  allowAnonymous?: boolean | undefined;
  limits?: Partial<AuthLimits> | undefined;
  metrics?: BrokerMetrics | undefined;
  logger?: BrokerLogger | undefined;
}

/** Create the state one broker's hook handlers share. */
export function createHookState(opts: HookStateOptions): HookState {
  const limits: AuthLimits = { ...DEFAULT_AUTH_LIMITS, ...opts.limits };
  const groups = new GroupCache(opts.store, limits.groupCacheTtlMs);
  const blocks = new BlockCache(opts.store, limits.groupCacheTtlMs);
  const metrics = opts.metrics;
  return {
    limits,
    log: opts.logger ?? silentLogger,
    metrics,
    store: opts.store,
    policy: opts.policy,
    passwords: opts.passwords,
    allowAnonymous: (opts.allowAnonymous ?? false) || (opts.policy?.allowAnonymous ?? false),
    sessions: new WeakMap(),
    groups,
    blocks,
    publishLine: (session) => {
      // A guest publishes at a quarter of the usual rate (docs/API.md "Guests").
      const d = session.guest ? GUEST_RATE_DIVISOR : 1;
      return (session.publishes ??= new PublishLine(
        new TokenBucket(
          limits.publishRatePerSec / d,
          Math.max(1, Math.floor(limits.publishBurst / d)),
        ),
        limits.maxPublishDelayMs,
      ));
    },
    refuse: (rule, action) => {
      metrics?.refusals.inc({ rule, action });
    },
    resolve: async (identity, d) => {
      if (d.verdict === 'allow') return true;
      if (d.verdict === 'deny') return false;
      // [ACL-2] group topics: ask (through the short cache) whether the account is a current member.
      if (identity.kind !== 'device') return false;
      // [ACL-2] publishing: only admins of an announcement-only group.
      if (d.post) return groups.mayPost(d.groupId, identity.username);
      return groups.isMember(d.groupId, identity.username);
    },
  };
}
