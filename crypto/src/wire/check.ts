/**
 * Argument check shared by the wire builders (`topics.ts`, `client-ids.ts`); internal to the
 * wire module, not exported from `@sotto/crypto/wire`.
 */

/** `value` if it matches `pattern`; otherwise a `RangeError` naming the parameter. */
export function checked(pattern: RegExp, value: string, name: string): string {
  if (!pattern.test(value)) throw new RangeError(`invalid ${name}: ${JSON.stringify(value)}`);
  return value;
}
