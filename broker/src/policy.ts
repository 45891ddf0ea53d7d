/**
 * Operator policy file: MQTT namespaces beyond the built-in contract, in Mosquitto's `acl_file`
 * syntax (docs/OPERATIONS.md "Operator namespaces"):
 *
 * ```
 * # comment
 * allow_anonymous true
 * # lines before the first "user" line are for anonymous clients
 * topic read public/#
 * # every account may read its own metrics
 * pattern read    metrics/%u/#
 * user alice
 * topic readwrite lab/shared/#
 * topic deny lab/shared/secret
 * ```
 *
 * `topic [read|write|readwrite|deny] T` applies to the account named by the last `user` line,
 * or, before any `user` line, to anonymous clients; `pattern` lines apply to every client, with
 * `%u` replaced by the account (a device's user, a thing's owner, an operator client's
 * password-file user; a `%u` pattern never applies to an anonymous client) and `%c` by the client
 * id. Access defaults to `readwrite`; a `deny` rule that matches wins over every grant.
 * `allow_anonymous true|false` admits clients without a user name (off by default; the
 * `--allow-anonymous` flag does the same).
 *
 * Rules may use wildcards anywhere (`#`, `+/C`), but never name the built-in namespaces: a rule
 * whose first level is `sotto`, `iot` or starts with `$` stops start-up, and what a rule with a
 * leading wildcard grants is checked per delivery against the topic itself, so a `#` subscriber
 * never receives `sotto/`, `iot/` or `$SYS` messages (acl.ts [ACL-11]).
 * Parsing is strict: any unknown directive, access word or malformed filter stops start-up
 * with a {@link ConfigError} naming the line.
 */
import { ConfigError } from './errors.ts';
import type { Identity } from './identity.ts';
import { accountOf } from './identity.ts';
import { OPERATOR_USERNAME } from './passwords.ts';

/** What a rule grants (or, `deny`, takes away). */
export type PolicyAccess = 'read' | 'write' | 'readwrite' | 'deny';

/** One parsed rule. */
export interface PolicyRule {
  access: PolicyAccess;
  filter: string;
  /** Whom the rule is for: one account, anonymous clients, or every client (`pattern`). */
  scope: 'user' | 'anonymous' | 'pattern';
  /** The account of a `user` rule; `null` otherwise. */
  user: string | null;
  /** 1-based line number in the file, for logs. */
  line: number;
}

/** A loaded policy. */
export interface Policy {
  rules: readonly PolicyRule[];
  /** `allow_anonymous true` in the file. */
  allowAnonymous: boolean;
  /** May `identity` subscribe to `filter`? */
  canRead(identity: Identity, filter: string): boolean;
  /** May `identity` publish to the concrete `topic`? */
  canWrite(identity: Identity, topic: string): boolean;
}

const RESERVED_ROOTS = new Set(['sotto', 'iot']);

/** True when the first level of a filter or topic names a namespace the built-in rules own. */
export function isReservedRoot(filterOrTopic: string): boolean {
  const first = filterOrTopic.split('/', 1)[0] ?? '';
  return RESERVED_ROOTS.has(first) || first.startsWith('$');
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
  let allowAnonymous = false;
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
    if (directive === 'allow_anonymous') {
      if (words.length !== 2 || (words[1] !== 'true' && words[1] !== 'false'))
        fail('expected "allow_anonymous true|false"');
      allowAnonymous = words[1] === 'true';
      return;
    }
    if (directive === 'user') {
      if (words.length !== 2 || !OPERATOR_USERNAME.test(words[1] ?? ''))
        fail('expected "user <name>" ([A-Za-z0-9_.@-]{1,64})');
      user = words[1] ?? null;
      return;
    }
    if (directive === 'topic' || directive === 'pattern') {
      let access: PolicyAccess = 'readwrite';
      let filter: string | undefined;
      if (words.length === 2) filter = words[1];
      else if (words.length === 3) {
        const a = words[1];
        if (a !== 'read' && a !== 'write' && a !== 'readwrite' && a !== 'deny')
          fail('access must be read, write, readwrite or deny');
        access = a as PolicyAccess;
        filter = words[2];
      } else fail(`expected "${directive} [read|write|readwrite|deny] <filter>"`);
      if (filter === undefined || !validFilter(filter)) return fail('malformed topic filter');
      if (isReservedRoot(filter)) fail('rules may not name sotto/, iot/ or $ topics');
      if (directive === 'topic') {
        if (filter.includes('%')) fail('substitutions are only allowed in "pattern" lines');
        rules.push({
          access,
          filter,
          scope: user === null ? 'anonymous' : 'user',
          user,
          line,
        });
      } else {
        if (/%[^uc]/.test(filter) || filter.endsWith('%'))
          fail('only %u and %c substitutions exist');
        rules.push({ access, filter, scope: 'pattern', user: null, line });
      }
      return;
    }
    fail('unknown directive');
  });

  /** The filters of the rules that apply to `identity` with access `want`. */
  const applicable = (identity: Identity, want: 'read' | 'write' | 'deny') => {
    const account = accountOf(identity);
    const anonymous = identity.kind === 'operator' && identity.username === null;
    if (account === null && !anonymous) return [];
    const out: string[] = [];
    for (const r of rules) {
      if (want === 'deny' ? r.access !== 'deny' : r.access !== 'readwrite' && r.access !== want)
        continue;
      if (r.scope === 'user') {
        if (r.user === account) out.push(r.filter);
      } else if (r.scope === 'anonymous') {
        if (anonymous) out.push(r.filter);
      } else {
        if (account === null && r.filter.includes('%u')) continue;
        // Substituted values come from validated identities or password-file names: no `/`,
        // `+` or `#` (an operator client id may hold them: then the pattern simply never matches).
        const c = identity.clientId;
        if (r.filter.includes('%c') && /[/+#]/.test(c)) continue;
        out.push(r.filter.replaceAll('%u', account ?? '').replaceAll('%c', c));
      }
    }
    return out;
  };

  return {
    rules,
    allowAnonymous,
    canRead(identity, filter) {
      if (isReservedRoot(filter)) return false;
      if (!applicable(identity, 'read').some((f) => filterCovers(f, filter))) return false;
      // A deny rule wins when it takes away every topic of the filter; one that takes away a
      // part leaves the subscription and refuses those topics per delivery (checked with the
      // concrete topic).
      return !applicable(identity, 'deny').some((f) => filterCovers(f, filter));
    },
    canWrite(identity, topic) {
      if (isReservedRoot(topic)) return false;
      if (applicable(identity, 'deny').some((f) => filterMatches(f, topic))) return false;
      return applicable(identity, 'write').some((f) => filterMatches(f, topic));
    },
  };
}

/** Lines starting with `#` are comments (as in Mosquitto); there are no trailing comments, since `#` is also a filter level. */
function stripComment(line: string): string {
  return line.trimStart().startsWith('#') ? '' : line;
}
