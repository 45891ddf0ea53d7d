/**
 * UTF-8 JSON helpers shared by the wire decoders: read one object and its fields, each failure a
 * {@link WireError} `MALFORMED`. Internal to `wire/`.
 */
import { WireError } from './errors.ts';

// TextEncoder/TextDecoder exist in every runtime this package targets (browsers, Node ≥ 20),
// but the package compiles with `types: []` and no DOM lib, so declare the parts used here.
declare const TextEncoder: new () => { encode(input: string): Uint8Array };
declare const TextDecoder: new (
  label: string,
  options: { fatal: boolean },
) => { decode(input: Uint8Array): string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A decoded JSON object whose fields are still unchecked. */
export type Fields = Readonly<Record<string, unknown>>;

/** `value` as UTF-8 JSON bytes. */
export function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Strict UTF-8 decoding (a bad sequence throws a TypeError). */
export function utf8Text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Parse UTF-8 JSON bytes (or a string) that must hold an object; `what` names it in errors. */
export function readObject(input: Uint8Array | string, what: string): Fields {
  let value: unknown;
  try {
    value = JSON.parse(typeof input === 'string' ? input : decoder.decode(input));
  } catch (cause) {
    throw new WireError('MALFORMED', `${what} is not UTF-8 JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new WireError('MALFORMED', `${what} is not a JSON object`);
  return value as Fields;
}

function bad(what: string, key: string, expected: string): WireError {
  return new WireError('MALFORMED', `${what}: field "${key}" must be ${expected}`);
}

/** Field `key` as a string (matching `pattern` when given). */
export function str(o: Fields, key: string, what: string, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== 'string' || (pattern && !pattern.test(v)))
    throw bad(what, key, pattern ? `a string matching ${String(pattern)}` : 'a string');
  return v;
}

/** Field `key` as a non-negative safe integer. */
export function count(o: Fields, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw bad(what, key, 'a non-negative integer');
  return v;
}

/** Field `key` as a boolean. */
export function bool(o: Fields, key: string, what: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw bad(what, key, 'a boolean');
  return v;
}

/** Field `key` as an array of strings; `fallback` when absent (required when omitted). */
export function strings(o: Fields, key: string, what: string, fallback?: string[]): string[] {
  const v = o[key];
  if (v === undefined && fallback) return fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw bad(what, key, 'an array of strings');
  return v;
}

/** Field `type` as a string (anything else is `MALFORMED`). */
export function typeOf(o: Fields, what: string): string {
  return str(o, 'type', what);
}
