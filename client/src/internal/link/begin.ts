/**
 * Linking, new device (PROTOCOL.md §13): logged in with the password (so it
 * holds a token for its new device id) but without the user identity key.
 * {@link begin} makes a link code (ephemeral X25519 key + secret), listens on
 * the device's own inbox over a short-lived MQTT connection, and waits for the
 * LINK envelope. It then opens the bundle, checks the UIK against the one the
 * key server publishes, makes its device keys and certificate, uploads them
 * like any device, applies the synced state, imports the message history and
 * becomes a normal engine.
 */
import {
  createLinkCode,
  deviceClientId,
  encodeLinkCode,
  equalBytes,
  fromBase64,
  inboxTopic,
  openLinkBundle,
  ready,
  utf8,
  type KeyPair,
} from '@sotto/crypto';
import type { MqttClient } from 'mqtt';
import { ClientError } from '../../errors.ts';
import type { AccountRecord } from '../../store/types.ts';
import { PENDING_LINK_DEVICE, setUpDevice } from '../account.ts';
import type { Ctx } from '../context.ts';
import { brokerServers } from '../failover.ts';
import { importHistory, type HistoryImportResult } from '../history.ts';
import { applyState, parseState, type LinkState } from './sync-state.ts';
import { LINK_TTL_MS, type BeginLinkOptions, type LinkerDeps, type LinkSession } from './types.ts';

/**
 * New device, after the bundle opened and the device is set up: import the
 * history the state points to. Never throws: a failure is a `failed` result
 * (HISTORY_NOT_IMPORTED) and the device stays linked.
 */
async function copyHistory(
  ctx: Ctx,
  state: LinkState & { historyError?: ClientError },
): Promise<HistoryImportResult> {
  const fail = (cause: unknown): HistoryImportResult => {
    ctx.events.emit('error', cause);
    const reason = cause instanceof Error ? cause.message : String(cause);
    return {
      status: 'failed',
      error: new ClientError(
        'HISTORY_NOT_IMPORTED',
        `linked, but the message history could not be imported: ${reason}`,
        { cause },
      ),
    };
  };
  if (state.historyError) return fail(state.historyError);
  const ref = state.history;
  if (!ref) return { status: 'none' };
  try {
    const { imported, skipped } = await importHistory(ctx, ref, (done, total) =>
      ctx.events.emit('historyProgress', { done, total }),
    );
    const result = { status: 'imported' as const, imported, skipped, omitted: ref.omitted };
    ctx.events.emit('historyImported', { imported, skipped, omitted: ref.omitted });
    return result;
  } catch (err) {
    return fail(err);
  }
}

/** New device: log in, show a code, wait for the sealed UIK on our inbox. */
export async function begin(
  ctx: Ctx,
  deps: LinkerDeps,
  username: string,
  password: string,
  options: BeginLinkOptions,
): Promise<LinkSession> {
  await ready();
  const { store, http } = ctx;
  const connectFn = deps.mqttConnect;
  if (!connectFn) throw new ClientError('NOT_STARTED', 'linking needs an MQTT connection');
  const existing = await store.getAccount();
  if (existing?.certificate) {
    throw new ClientError('BAD_INPUT', `this device is already set up for ${existing.username}`);
  }
  const pending = await store.getSetting<{ username: string; deviceId: string }>(
    PENDING_LINK_DEVICE,
  );
  const res = await http.login(
    username,
    password,
    options.deviceId ?? (pending?.username === username ? pending.deviceId : undefined),
  );
  deps.pendingTokens.set(res);
  let client: MqttClient | null = null;
  const release = async (logout: boolean): Promise<void> => {
    const c = client;
    client = null;
    if (c) {
      // Bounded: a broker that does not answer the DISCONNECT must not hold the link open.
      await Promise.race([c.endAsync(), new Promise((r) => setTimeout(r, 2000))]);
      if (!c.disconnected) c.end(true);
    }
    if (logout) await http.logout().catch(() => undefined);
    deps.pendingTokens.set(null);
  };
  try {
    const user = await http.getUser(username);
    if (user.uik === null) {
      throw new ClientError(
        'BAD_INPUT',
        `${username} has no identity key yet: log in normally to make this the first device`,
      );
    }
    const serverUik = fromBase64(user.uik);
    await store.setSetting(PENDING_LINK_DEVICE, { username, deviceId: res.deviceId });
    const expiresAt = ctx.now() + (options.ttlMs ?? LINK_TTL_MS);
    const { code, secretKey } = createLinkCode({ username, deviceId: res.deviceId, expiresAt });
    const kind = options.kind ?? 'user';

    let settle: { resolve: (a: AccountRecord) => void; reject: (e: unknown) => void } | null = null;
    const done = new Promise<AccountRecord>((resolve, reject) => {
      settle = { resolve, reject };
    });
    let historyResult: HistoryImportResult = { status: 'none' };
    let finished = false;
    /** The bundle opened: expiry and cancel no longer interrupt setting the device up. */
    let settingUp = false;
    const finish = (err: unknown, account?: AccountRecord, fromSetUp = false): void => {
      if (finished || (settingUp && !fromSetUp)) return;
      finished = true;
      clearTimeout(timer);
      if (account) settle!.resolve(account);
      else settle!.reject(err);
    };
    const timer = setTimeout(
      () => finish(new ClientError('LINK_EXPIRED', 'nobody approved the link code in time')),
      Math.max(0, expiresAt - ctx.now()),
    );

    /** One envelope on our inbox: the bundle, or noise to drop. */
    const onEnvelope = async (bytes: Uint8Array): Promise<void> => {
      // A second copy (QoS 1 redelivery, a second approval) while or after setting up: ignore.
      if (finished || settingUp) return;
      let uik: KeyPair;
      let state: Uint8Array;
      try {
        ({ uik, state } = openLinkBundle(code, secretKey, bytes));
      } catch (err) {
        // Not for this code (a stray envelope, someone guessing): drop it and keep waiting.
        ctx.events.emit('error', err);
        return;
      }
      if (!equalBytes(uik.publicKey, serverUik)) {
        finish(
          new ClientError(
            'LINK_MISMATCH',
            'the identity key from the other device is not the one the key server publishes',
          ),
        );
        return;
      }
      settingUp = true;
      clearTimeout(timer);
      try {
        const account = await setUpDevice(ctx, {
          username,
          deviceId: res.deviceId,
          kind,
          uik,
          tokens: deps.pendingTokens.get() ?? res,
        });
        deps.adopt(account);
        deps.pendingTokens.set(null);
        await store.setSetting(PENDING_LINK_DEVICE, null);
        const synced = parseState(state);
        await applyState(ctx, deps, synced);
        historyResult = await copyHistory(ctx, synced);
        finish(null, account, true);
      } catch (err) {
        finish(err, undefined, true);
      }
    };

    const clientId = deviceClientId(username, res.deviceId);
    const c = connectFn({
      // With several brokers, the link waits on whichever answers (docs/CLIENT.md failover).
      ...(deps.brokers ? { servers: brokerServers(deps.brokers) } : {}),
      clientId,
      username: clientId,
      password: res.accessToken,
      // The same persistent session the engine resumes after linking: nothing queued is lost.
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      resubscribe: true,
    });
    client = c;
    c.handleMessage = (packet, callback) => {
      const p = packet.payload;
      const bytes = typeof p === 'string' ? utf8(p) : new Uint8Array(p);
      onEnvelope(bytes).then(
        () => callback(),
        (err: unknown) => {
          ctx.events.emit('error', err);
          callback();
        },
      );
    };
    // Give up only once every broker refused a first attempt (one, unless a cluster is given).
    let failures = 0;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void => {
        if (++failures < (deps.brokers?.length ?? 1)) return;
        c.off('error', fail);
        c.off('connect', onConnect);
        reject(err);
      };
      const onConnect = (): void => {
        c.off('error', fail);
        c.subscribe(inboxTopic(username, res.deviceId), { qos: 1 }, (err, granted) => {
          if (err) reject(err);
          else if (granted?.some((g) => g.qos === 128))
            reject(new Error('inbox subscription refused'));
          else resolve();
        });
      };
      c.once('connect', onConnect);
      c.on('error', fail);
    });

    const linked = done.then(
      async (account) => {
        await release(false);
        return {
          username: account.username,
          deviceId: account.deviceId,
          kind: account.kind,
          history: historyResult,
        };
      },
      async (err: unknown) => {
        await release(true);
        throw err;
      },
    );
    // Callers may look at the outcome late (after showing the code): not an unhandled rejection.
    linked.catch(() => undefined);
    return {
      code: encodeLinkCode(code),
      expiresAt,
      linked,
      cancel: () => finish(new ClientError('LINK_CANCELLED', 'linking was cancelled')),
    };
  } catch (err) {
    await release(true);
    throw err;
  }
}
