/**
 * Helpers for the end-to-end tests of `test/embedded`, `test/cluster` and
 * `test/fuzz`: spawning `scripts/start.ts` as a real process, creating
 * accounts over HTTP, and connecting mqtt.js clients with real tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceClientId } from '@sotto/crypto/wire';
import { waitFor } from '../support/ports.ts';
import { KEYSERVER_NODE_FLAGS } from '../../scripts/node-flags.ts';

/** Repository root. */
export const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Cheap Argon2 and no rate limits: the tests sign up and log in many
 * accounts, which production settings deliberately make slow.
 */
export const FAST_KEYSERVER_ENV: Record<string, string> = {
  ARGON2_MEMORY_KIB: '64',
  ARGON2_TIME: '1',
  RATE_LIMIT: 'off',
};

/** A spawned `npm start`-style process. */
export interface StartedProcess {
  child: ChildProcess;
  /** Everything printed so far (stdout and stderr interleaved). */
  output(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** SIGTERM and wait (SIGKILL after 10 s). */
  stop(): Promise<number | string>;
}

/** Spawn `node <flags> --import tsx scripts/start.ts ...args`, as `npm start` does (one process, so signals reach it directly). */
export function spawnStart(args: string[], env: Record<string, string> = {}): StartedProcess {
  return spawnNode(
    [...KEYSERVER_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'scripts', 'start.ts'), ...args],
    { ...FAST_KEYSERVER_ENV, ...env },
  );
}

/** Spawn `node ...args` in the repository root with only PATH, HOME and `env` set. */
export function spawnNode(args: string[], env: Record<string, string> = {}): StartedProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
    err += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    output: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.kill('SIGTERM');
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
  };
}

/** Wait until the process printed its "running" banner (or fail with its output). */
export async function waitForBanner(p: StartedProcess, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    () => {
      if (p.child.exitCode !== null) throw new Error(`start exited early:\n${p.output()}`);
      return p.output().includes('Sotto is running');
    },
    { timeoutMs, what: 'the start banner', intervalMs: 50 },
  );
}

/** Tokens of a logged-in device. */
export interface Login {
  username: string;
  deviceId: string;
  accessToken: string;
  refreshToken: string;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Sign up (ignoring "taken") and log in one device. */
export async function signupAndLogin(
  baseUrl: string,
  username: string,
  deviceId = 'dev1',
  password = 'correct horse battery staple',
): Promise<Login> {
  const signup = await postJson(`${baseUrl}/v1/accounts`, { username, password });
  if (signup.status !== 200 && signup.status !== 201 && signup.status !== 409)
    throw new Error(
      `sign-up of ${username} failed: ${signup.status} ${JSON.stringify(signup.json)}`,
    );
  return login(baseUrl, username, deviceId, password);
}

/** Log in one device. */
export async function login(
  baseUrl: string,
  username: string,
  deviceId = 'dev1',
  password = 'correct horse battery staple',
): Promise<Login> {
  const r = await postJson(`${baseUrl}/v1/sessions`, { username, password, deviceId });
  if (r.status !== 200)
    throw new Error(`login of ${username} failed: ${r.status} ${JSON.stringify(r.json)}`);
  const j = r.json as { accessToken: string; refreshToken: string; deviceId: string };
  return {
    username,
    deviceId: j.deviceId,
    accessToken: j.accessToken,
    refreshToken: j.refreshToken,
  };
}

/** Connect mqtt.js as a device (clientId = username = `{user}:{device}`, password = token). */
export async function connectDevice(
  url: string | string[],
  who: Login,
  opts: { clean?: boolean; reconnectPeriod?: number; connectTimeout?: number } = {},
): Promise<MqttClient> {
  const urls = Array.isArray(url) ? url : [url];
  const clientId = deviceClientId(who.username, who.deviceId);
  const servers = urls.map((u) => {
    const p = new URL(u);
    return {
      host: p.hostname,
      port: Number(p.port),
      protocol: p.protocol.replace(':', '') as 'mqtt',
    };
  });
  const first = urls[0] as string;
  const client = mqtt.connect(first, {
    clientId,
    username: clientId,
    password: who.accessToken,
    protocolVersion: 4,
    clean: opts.clean ?? true,
    reconnectPeriod: opts.reconnectPeriod ?? 0,
    connectTimeout: opts.connectTimeout ?? 5_000,
    ...(servers.length > 1 && !first.startsWith('ws') ? { servers } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      client.end(true);
      reject(err);
    };
    client.once('connect', () => {
      client.off('error', onError);
      resolve();
    });
    client.once('error', onError);
    client.once('close', () => reject(new Error(`${clientId}: connection closed before CONNACK`)));
  });
  return client;
}

/** Close an mqtt.js client and wait for it. */
export function endClient(c: MqttClient): Promise<void> {
  return new Promise((resolve) => c.end(true, {}, () => resolve()));
}
