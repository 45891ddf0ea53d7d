/**
 * MQTT topic names, built and parsed only here (DESIGN.md §4.2, docs/PROTOCOL.md §7); client
 * ids are in `client-ids.ts`. Client, key server and broker all import these
 * functions (through `@sotto/crypto/wire`), so a topic string is defined
 * exactly once. Pure string code, no I/O.
 */
import { checked as check } from './check.ts';

/** Usernames: `^[a-z0-9_]{3,32}$`. Never contain `/`, `+`, `#` or NUL, so they cannot widen a topic. */
export const USERNAME_PATTERN = /^[a-z0-9_]{3,32}$/;
/** Device ids: 1–64 of `[A-Za-z0-9_-]`. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Group ids: 1–64 of `[A-Za-z0-9_-]` (clients use 22-char base64url of 16 random bytes). */
export const GROUP_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** IoT thing names: 1–64 of `[a-z0-9_-]`. */
export const THING_PATTERN = /^[a-z0-9_-]{1,64}$/;

const PREFIX = 'sotto/v1';

/** `sotto/v1/inbox/{user}/{device}`: one device's DM inbox. */
export function inboxTopic(user: string, device: string): string {
  return `${PREFIX}/inbox/${check(USERNAME_PATTERN, user, 'username')}/${check(DEVICE_ID_PATTERN, device, 'deviceId')}`;
}

/** `sotto/v1/group/{groupId}`: a group's shared topic. */
export function groupTopic(groupId: string): string {
  return `${PREFIX}/group/${check(GROUP_ID_PATTERN, groupId, 'groupId')}`;
}

/** `sotto/v1/presence/{user}` (retained). */
export function presenceTopic(user: string): string {
  return `${PREFIX}/presence/${check(USERNAME_PATTERN, user, 'username')}`;
}

/** `sotto/v1/control/{user}/{device}`: key server → device notices. */
export function controlTopic(user: string, device: string): string {
  return `${PREFIX}/control/${check(USERNAME_PATTERN, user, 'username')}/${check(DEVICE_ID_PATTERN, device, 'deviceId')}`;
}

/** `iot/{owner}/{thing}` root; sub-topics hang below it. */
export function thingTopic(owner: string, thing: string, ...rest: string[]): string {
  const base = `iot/${check(USERNAME_PATTERN, owner, 'owner')}/${check(THING_PATTERN, thing, 'thing')}`;
  return rest.length ? `${base}/${rest.join('/')}` : base;
}

/** A topic parsed back into its kind and parts; `null` for anything outside the contract. */
export type ParsedTopic =
  | { kind: 'inbox'; user: string; device: string }
  | { kind: 'group'; groupId: string }
  | { kind: 'presence'; user: string }
  | { kind: 'control'; user: string; device: string }
  | { kind: 'iot'; owner: string; thing: string; rest: string[] };

/**
 * Parse a concrete topic name (no wildcards). Returns `null` unless every
 * level matches the contract exactly, so a caller can deny by default.
 */
export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts[0] === 'sotto' && parts[1] === 'v1') {
    const [, , kind, a, b, ...extra] = parts;
    if (extra.length) return null;
    switch (kind) {
      case 'inbox':
      case 'control':
        if (a && b && USERNAME_PATTERN.test(a) && DEVICE_ID_PATTERN.test(b))
          return { kind, user: a, device: b };
        return null;
      case 'group':
        if (a && b === undefined && GROUP_ID_PATTERN.test(a)) return { kind, groupId: a };
        return null;
      case 'presence':
        if (a && b === undefined && USERNAME_PATTERN.test(a)) return { kind, user: a };
        return null;
      default:
        return null;
    }
  }
  if (parts[0] === 'iot') {
    const [, owner, thing, ...rest] = parts;
    if (owner && thing && USERNAME_PATTERN.test(owner) && THING_PATTERN.test(thing)) {
      return { kind: 'iot', owner, thing, rest };
    }
  }
  return null;
}
