/**
 * Operator policy file: extra MQTT namespaces beyond the built-in contract, in
 * the spirit of Mosquitto's `acl_file` (docs/OPERATIONS.md "Broker").
 *
 * ```
 * # comment
 * # every account may read its own metrics
 * pattern read    metrics/%u/#
 * user alice
 * topic readwrite lab/shared/#
 * ```
 *
 * `topic` lines apply to the account named by the last `user` line (a
 * `topic` line before any `user` line is an error: there are no anonymous
 * clients); `pattern` lines apply to every account, with `%u` replaced by the
 * account (device's username or thing's owner) and `%c` by the client id.
 * Rules may only name namespaces outside the built-in ones: a filter whose
 * first level is `sotto`, `iot`, starts with `$`, or is a wildcard is refused
 * at load time, so the file can never widen the rules in `acl.ts`.
 * Parsing is strict: any unknown directive, access word or malformed filter
 * stops start-up with a {@link ConfigError} naming the line.
 */
import { ConfigError } from './errors.ts';
import type { Identity } from './identity.ts';
import { accountOf } from './identity.ts';
import { USERNAME_PATTERN } from '@sotto/crypto/wire';

/** What a rule grants. */
export type PolicyAccess = 'read' | 'write' | 'readwrite';

/** One parsed rule. */
export interface PolicyRule {
  access: PolicyAccess;
  filter: string;
  /** Account the rule is for; `null` for a `pattern` rule (every account). */
  user: string | null;
  /** 1-based line number in the file, for logs. */
  line: number;
}

/** A loaded policy. */
export interface Policy {
  rules: readonly PolicyRule[];
  /** May `identity` subscribe to `filter`? */
  canRead(identity: Identity, filter: string): boolean;
  /** May `identity` publish to the concrete `topic`? */
  canWrite(identity: Identity, topic: string): boolean;
}

const RESERVED_ROOTS = new Set(['sotto', 'iot']);

/** True when the first level of a filter or topic is one the built-in rules own (or could match them). */
export function isBuiltInNamespace(filterOrTopic: string): boolean {
  const first = filterOrTopic.split('/', 1)[0] ?? '';
  return (
    RESERVED_ROOTS.has(first) ||
    first.startsWith('$') ||
    first === '+' ||
    first === '#' ||
    first === ''
  );
}

function validFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 1024 || filter.includes('\0')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] ?? '';
    if (l === '#') {
      if (i !== levels.length - 1) return false;
    } else if (l !== '+' && (l.includes('+') || l.includes('#'))) {
      return false;
    }
  }
  return true;
}

/**
 * Does the policy filter `rule` cover every topic the requested filter
 * `requested` can match? (A requested `+` is only covered by `+` or `#`.)
 */
export function filterCovers(rule: string, requested: string): boolean {
  const r = rule.split('/');
  const q = requested.split('/');
  for (let i = 0; ; i++) {
    const rl = r[i];
    const ql = q[i];
    if (rl === '#') return true;
    if (rl === undefined && ql === undefined) return true;
    if (rl === undefined || ql === undefined) return false;
    if (rl === '+') {
      if (ql === '#') return false;
      continue;
    }
    if (rl !== ql) return false;
  }
}

/** Does the filter match the concrete topic? */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; ; i++) {
    const fl = f[i];
    const tl = t[i];
    if (fl === '#') return true;
    if (fl === undefined && tl === undefined) return true;
    if (fl === undefined || tl === undefined) return false;
    if (fl !== '+' && fl !== tl) return false;
  }
}

/** Parse policy text; throws {@link ConfigError} on the first bad line. */
export function parsePolicy(text: string): Policy {
  const rules: PolicyRule[] = [];
  let user: string | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const stripped = stripComment(raw).trim();
    if (stripped === '') return;
    const words = stripped.split(/\s+/);
    const directive = words[0];
    const fail = (why: string): never => {
      throw new ConfigError(`policy line ${line}: ${why}: ${JSON.stringify(raw.trim())}`);
    };
    if (directive === 'user') {
      if (words.length !== 2 || !USERNAME_PATTERN.test(words[1] ?? ''))
        fail('expected "user <username>"');
      user = words[1] ?? null;
      return;
    }
    if (directive === 'topic' || directive === 'pattern') {
      let access: PolicyAccess = 'readwrite';
      let filter: string | undefined;
      if (words.length === 2) filter = words[1];
      else if (words.length === 3) {
        const a = words[1];
        if (a !== 'read' && a !== 'write' && a !== 'readwrite')
          fail('access must be read, write or readwrite');
        access = a as PolicyAccess;
        filter = words[2];
      } else fail(`expected "${directive} [read|write|readwrite] <filter>"`);
      if (filter === undefined || !validFilter(filter)) return fail('malformed topic filter');
      if (isBuiltInNamespace(filter))
        fail('rules may not name sotto/, iot/, $ topics or start with a wildcard');
      if (directive === 'topic') {
        if (user === null) fail('"topic" before any "user" line');
        if (filter.includes('%')) fail('substitutions are only allowed in "pattern" lines');
        rules.push({ access, filter, user, line });
      } else {
        if (/%[^uc]/.test(filter) || filter.endsWith('%'))
          fail('only %u and %c substitutions exist');
        rules.push({ access, filter, user: null, line });
      }
      return;
    }
    fail('unknown directive');
  });

  const applicable = (identity: Identity, want: 'read' | 'write') => {
    const account = accountOf(identity);
    if (account === null) return [];
    const out: string[] = [];
    for (const r of rules) {
      if (r.access !== 'readwrite' && r.access !== want) continue;
      if (r.user !== null) {
        if (r.user === account) out.push(r.filter);
      } else {
        // Substituted values come from validated identities: they contain no `/`, `+` or `#`.
        out.push(r.filter.replaceAll('%u', account).replaceAll('%c', identity.clientId));
      }
    }
    return out;
  };

  return {
    rules,
    canRead(identity, filter) {
      if (isBuiltInNamespace(filter)) return false;
      return applicable(identity, 'read').some((f) => filterCovers(f, filter));
    },
    canWrite(identity, topic) {
      if (isBuiltInNamespace(topic)) return false;
      return applicable(identity, 'write').some((f) => filterMatches(f, topic));
    },
  };
}

/** Lines starting with `#` are comments (as in Mosquitto); there are no trailing comments, since `#` is also a filter level. */
function stripComment(line: string): string {
  return line.trimStart().startsWith('#') ? '' : line;
}
