/**
 * The topic ACL of DESIGN.md §4.2 as pure functions: deny by default, every
 * decision names the rule that made it (`// [ACL-n]`, listed in
 * docs/SECURITY.md "Broker and topic ACLs"). Group membership needs the
 * store, so group rules answer `member` and the caller (auth.ts) asks.
 *
 * Topics are matched level by level against the contract's patterns
 * (`parseTopic` from @sotto/crypto): identities are validated the same way, so
 * a username can never inject `/`, `+` or `#` into a comparison.
 */
import type { Identity } from './identity.ts';
import { parseTopic } from '@sotto/crypto/wire';
import { isReservedRoot, type Policy } from './policy.ts';

/** Rule identifiers, as tagged in the code and documented in SECURITY.md. */
export type AclRule =
  | 'ACL-1'
  | 'ACL-2'
  | 'ACL-3'
  | 'ACL-4'
  | 'ACL-5'
  | 'ACL-6'
  | 'ACL-7'
  | 'ACL-8'
  | 'ACL-9'
  | 'ACL-10'
  | 'ACL-11'
  | 'ACL-12'
  | 'ACL-13'
  | 'deny-default';

/**
 * Outcome of a topic check. `member`: allowed iff the caller's account is a current member of
 * `groupId` — and, with `post`, one allowed to publish there (an admin of an
 * announcement-only group, any member otherwise).
 */
export type AclDecision =
  | { verdict: 'allow'; rule: AclRule }
  | { verdict: 'deny'; rule: AclRule }
  | { verdict: 'member'; rule: 'ACL-2'; groupId: string; post?: true };

// One frozen decision object per verdict and rule: the checks run on every publish and every
// delivery, and allocating a fresh object each time only fed the garbage collector.
const ALL_RULES: readonly AclRule[] = [
  'ACL-1',
  'ACL-2',
  'ACL-3',
  'ACL-4',
  'ACL-5',
  'ACL-6',
  'ACL-7',
  'ACL-8',
  'ACL-9',
  'ACL-10',
  'ACL-11',
  'ACL-12',
  'ACL-13',
  'deny-default',
];
const decisions = (verdict: 'allow' | 'deny') =>
  new Map<AclRule, AclDecision>(
    ALL_RULES.map((rule): [AclRule, AclDecision] => [
      rule,
      Object.freeze(verdict === 'allow' ? { verdict: 'allow', rule } : { verdict: 'deny', rule }),
    ]),
  );
const ALLOW = decisions('allow');
const DENY = decisions('deny');
const allow = (rule: AclRule): AclDecision => ALLOW.get(rule)!;
const deny = (rule: AclRule): AclDecision => DENY.get(rule)!;

function hasWildcard(levels: readonly string[]): boolean {
  return levels.some((l) => l === '+' || l === '#');
}

/**
 * [ACL-11] An operator-namespace client (policy file) gets exactly what the policy grants, and
 * never a topic whose first level is `sotto`, `iot` or starts with `$`. Its filters may start
 * with a wildcard when a rule grants that; every delivery is checked again with the concrete
 * topic (forward.ts), so a `#` subscription never receives the built-in namespaces.
 */
function checkOperator(
  identity: Identity,
  filterOrTopic: string,
  policy: Policy | undefined,
  want: 'read' | 'write',
): AclDecision {
  if (isReservedRoot(filterOrTopic)) return deny('ACL-11');
  if (!policy) return deny('deny-default');
  const ok =
    want === 'read'
      ? policy.canRead(identity, filterOrTopic)
      : policy.canWrite(identity, filterOrTopic);
  return ok ? allow('ACL-10') : deny('deny-default');
}

/** May `identity` subscribe to `filter` (wildcards allowed only inside its own namespace)? */
export function checkSubscribe(identity: Identity, filter: string, policy?: Policy): AclDecision {
  if (identity.kind === 'operator') return checkOperator(identity, filter, policy, 'read');
  const levels = filter.split('/');
  const root = levels[0] ?? '';
  // [ACL-6] `$SYS/#`, any `$` topic, `#` and `+` at the root: never.
  if (root.startsWith('$') || root === '#' || root === '+') return deny('ACL-6');

  if (root === 'sotto') {
    // [ACL-6] no wildcard anywhere under sotto/: every topic there is exact.
    if (hasWildcard(levels)) return deny('ACL-6');
    const t = parseTopic(filter);
    if (t === null || identity.kind !== 'device') return deny('deny-default');
    switch (t.kind) {
      case 'inbox':
        // [ACL-1] a device's inbox is readable by that device only.
        return t.user === identity.username && t.device === identity.deviceId
          ? allow('ACL-1')
          : deny('ACL-1');
      case 'group':
        // [ACL-2] group topics: current members only.
        return { verdict: 'member', rule: 'ACL-2', groupId: t.groupId };
      case 'presence':
        // [ACL-3] any user's presence is readable by any user device (exact topics, no enumeration).
        return allow('ACL-3');
      case 'control':
        // [ACL-4] control notices: read by the addressed device only.
        return t.user === identity.username && t.device === identity.deviceId
          ? allow('ACL-4')
          : deny('ACL-4');
      default:
        return deny('deny-default');
    }
  }

  if (root === 'iot') {
    // [ACL-5] iot/{owner}/{thing}/#: the owner's devices may use wildcards below iot/{owner}/,
    // a thing below iot/{owner}/{thing}/. The owner level (and the thing level for things)
    // must be literal, so no wildcard reaches another account.
    if (identity.kind === 'device') {
      return levels[1] === identity.username ? allow('ACL-5') : deny('ACL-5');
    }
    if (identity.kind === 'thing') {
      return levels[1] === identity.owner && levels[2] === identity.thing
        ? allow('ACL-5')
        : deny('ACL-5');
    }
    return deny('ACL-5');
  }

  // [ACL-10] the operator policy file may open other namespaces (never sotto/, iot/, $).
  if (policy && identity.kind !== 'service' && policy.canRead(identity, filter))
    return allow('ACL-10');
  return deny('deny-default');
}

/** May `identity` publish to the concrete `topic` (with the given retain flag)? */
export function checkPublish(
  identity: Identity,
  topic: string,
  retain: boolean,
  policy?: Policy,
): AclDecision {
  const d =
    identity.kind === 'operator'
      ? checkOperator(identity, topic, policy, 'write')
      : checkPublishTopic(identity, topic, policy);
  if (d.verdict === 'deny' || !retain) return d;
  // [ACL-7] retained messages only on the publisher's own presence topic, and where the
  // operator's policy grants writing: anything else would let one client plant state every
  // later subscriber receives.
  if (d.rule === 'ACL-3' || d.rule === 'ACL-10') return d;
  return deny('ACL-7');
}

function checkPublishTopic(identity: Identity, topic: string, policy?: Policy): AclDecision {
  const levels = topic.split('/');
  const root = levels[0] ?? '';
  // [ACL-6] `$` topics are the broker's own.
  if (root.startsWith('$')) return deny('ACL-6');

  if (root === 'sotto') {
    const t = parseTopic(topic);
    if (t === null) return deny('deny-default');
    switch (t.kind) {
      case 'inbox':
        // [ACL-1] any user or bot device may drop an envelope in any inbox (rate-limited per client).
        return identity.kind === 'device' ? allow('ACL-1') : deny('ACL-1');
      case 'group':
        // [ACL-2] current members only; of an announcement-only group, its admins only.
        return identity.kind === 'device'
          ? { verdict: 'member', rule: 'ACL-2', groupId: t.groupId, post: true }
          : deny('ACL-2');
      case 'presence':
        // [ACL-3] only the user's own presence.
        return identity.kind === 'device' && t.user === identity.username
          ? allow('ACL-3')
          : deny('ACL-3');
      case 'control':
        // [ACL-4] / [ACL-9] control notices come from the key server's service identity only.
        return identity.kind === 'service' ? allow('ACL-9') : deny('ACL-4');
      default:
        return deny('deny-default');
    }
  }

  if (root === 'iot') {
    const t = parseTopic(topic);
    if (t === null || t.kind !== 'iot') return deny('ACL-5');
    // [ACL-5] the thing itself, and any device of its owner.
    if (identity.kind === 'device' && t.owner === identity.username) return allow('ACL-5');
    if (identity.kind === 'thing' && t.owner === identity.owner && t.thing === identity.thing)
      return allow('ACL-5');
    return deny('ACL-5');
  }

  // [ACL-10] operator policy, outside the built-in namespaces only.
  if (policy && identity.kind !== 'service' && policy.canWrite(identity, topic))
    return allow('ACL-10');
  return deny('deny-default');
}
