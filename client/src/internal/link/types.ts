/**
 * The shapes of device linking (PROTOCOL.md §13): what the engine hands the
 * linker, what `begin` and `approve` take and return. Public ones are
 * re-exported by the package.
 */
import type { DeviceKind } from '@sotto/crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Tokens } from '../../http.ts';
import type { AccountRecord } from '../../store/types.ts';
import type { HistoryImportResult } from '../history.ts';
import type { Directory } from '../trust.ts';

/** How long a link code is valid by default (ms). */
export const LINK_TTL_MS = 10 * 60_000;

/**
 * How long the approving device keeps a history blob after the link completed
 * (ms): the new device downloads it right after uploading its keys.
 */
export const HISTORY_BLOB_GRACE_MS = 10 * 60_000;

/** A link in progress on the new device. */
export interface LinkSession {
  /** The code to show (text and QR payload): base64url, about 100 characters. */
  readonly code: string;
  /** When the code stops working (ms since the Unix epoch). */
  readonly expiresAt: number;
  /**
   * Resolves once the device is linked: keys uploaded, state synced, account
   * stored (call `start()` next). Rejects with ClientError LINK_EXPIRED,
   * LINK_CANCELLED or LINK_MISMATCH.
   */
  readonly linked: Promise<{
    username: string;
    deviceId: string;
    kind: DeviceKind;
    /** The message history copied from the other device (a failure does not fail the link). */
    history: HistoryImportResult;
  }>;
  /** Stop waiting (the promise rejects with LINK_CANCELLED). */
  cancel(): void;
}

/** Options of {@link Linker.begin}. */
export interface BeginLinkOptions {
  kind?: DeviceKind;
  /** Ask the server for this device id. */
  deviceId?: string;
  /** Lifetime of the code (ms), default {@link LINK_TTL_MS}. */
  ttlMs?: number;
}

/** Options of {@link Linker.approve}. */
export interface ApproveLinkOptions {
  /** Copy the message history to the new device (default true). */
  history?: boolean;
  /**
   * Bound of the history export in bytes of JSON before compression (default and
   * most `MAX_HISTORY_BYTES` of history.ts); older messages beyond it are left out.
   */
  historyMaxBytes?: number;
}

/** Result of {@link Linker.approve}. */
export interface ApproveLinkResult {
  deviceId: string;
  /**
   * The history sent along: messages included and older ones left out (size
   * bound); null when not copied (opted out, nothing to copy, or the export
   * failed: then `historyError` says why and the device was linked without it).
   */
  history: { count: number; omitted: number } | null;
  historyError?: unknown;
}

/** What the engine hands the linker. */
export interface LinkerDeps {
  directory: Directory;
  /** Fetch and verify a group chain from the key server (Groups.refresh). */
  refreshGroup(groupId: string): Promise<unknown>;
  /** Opens MQTT connections (the engine's `mqttConnect`). */
  mqttConnect: ((options: IClientOptions) => MqttClient) | undefined;
  /** Every broker of a cluster, in failover order (the engine's `brokers`), or undefined. */
  brokers: readonly string[] | undefined;
  /** True once the engine's own MQTT connection exists (approve publishes through it). */
  isConnected(): boolean;
  /** The engine's tokens before an account exists (HTTP calls of the new device use them). */
  pendingTokens: { get(): Tokens | null; set(t: Tokens | null): void };
  /** Make `account` the engine's account. */
  adopt(account: AccountRecord): void;
}

/** The `link` half of the engine. */
export interface Linker {
  begin(username: string, password: string, options?: BeginLinkOptions): Promise<LinkSession>;
  approve(code: string, options?: ApproveLinkOptions): Promise<ApproveLinkResult>;
}
