/**
 * `parseCommandLine`: ids, invite links and generated passwords are base64url and may begin with
 * "-" (CI failed twice on it: a group id `-X…` read as an unknown option, an operator password
 * `-…` as an ambiguous `--password` value); typos in flags are still refused.
 */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../src/cli/args.ts';
import { UsageError } from '../src/cli/exit.ts';

describe('parseCommandLine', () => {
  it('takes an argument that names no flag as a positional, in place', () => {
    const r = parseCommandLine(['groups', 'invite', '-XbQ3kR9w_2mZ', '1', '--state', 's', '24']);
    expect(r.positionals).toEqual(['groups', 'invite', '-XbQ3kR9w_2mZ', '1', '24']);
    expect(r.values.state).toBe('s');
    expect(parseCommandLine(['rooms', 'join', '--Ab3_9x']).positionals).toEqual([
      'rooms',
      'join',
      '--Ab3_9x',
    ]);
  });

  it('gives a string flag the next argument whatever it begins with', () => {
    expect(parseCommandLine(['login', 'op', '--password', '-k2Jd']).values.password).toBe('-k2Jd');
    expect(parseCommandLine(['login', 'op', '--password=-k2Jd']).values.password).toBe('-k2Jd');
    expect(parseCommandLine(['login', '-h']).values.help).toBe(true);
  });

  it('still refuses a misspelt flag and a string flag without its value', () => {
    expect(() => parseCommandLine(['login', 'op', '--pasword', 'x'])).toThrow(UsageError);
    expect(() => parseCommandLine(['login', 'op', '--pasword', 'x'])).toThrow(
      "Unknown option '--pasword'",
    );
    expect(() => parseCommandLine(['login', 'op', '--password'])).toThrow(
      '--password needs a value',
    );
    expect(parseCommandLine(['send', 'bob', '--', '--not-a-flag']).positionals).toEqual([
      'send',
      'bob',
      '--not-a-flag',
    ]);
  });
});
