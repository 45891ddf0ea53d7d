/**
 * The ACL rules as pure functions (acl.ts, policy.ts): every row of the
 * DESIGN.md §4.2 table, wildcard and odd-identity attacks, the policy file.
 */
import { describe, expect, it } from 'vitest';
import { checkPublish, checkSubscribe } from '../src/acl.ts';
import { identityOf, type Identity } from '../src/identity.ts';
import { filterCovers, parsePolicy } from '../src/policy.ts';
import { ConfigError } from '../src/errors.ts';

const id = (clientId: string): Identity => {
  const i = identityOf(clientId);
  if (!i) throw new Error(`bad id ${clientId}`);
  return i;
};
const alice = id('alice:phone');
const bob = id('bob:b1');
const lamp = id('thing:alice:lamp');
const svc = id('service:keyserver:1');
const sub = (who: Identity, filter: string) => checkSubscribe(who, filter).verdict;
const pub = (who: Identity, topic: string, retain = false) =>
  checkPublish(who, topic, retain).verdict;

describe('client ids', () => {
  // The format itself is tested in crypto/test/wire/client-ids.test.ts.
  it('the broker denies by default: an id outside the contract names no identity', () => {
    expect(identityOf('alice:phone')).toMatchObject({ kind: 'device', username: 'alice' });
    for (const bad of ['', 'alice', 'thing:x', 'service:other:1', 'al/ce:phone', 'aedes_1']) {
      expect(identityOf(bad), bad).toBeNull();
    }
  });
});

describe('inbox [ACL-1]', () => {
  it('only the addressed device subscribes', () => {
    expect(sub(alice, 'sotto/v1/inbox/alice/phone')).toBe('allow');
    expect(sub(alice, 'sotto/v1/inbox/alice/laptop')).toBe('deny');
    expect(sub(bob, 'sotto/v1/inbox/alice/phone')).toBe('deny');
    expect(sub(lamp, 'sotto/v1/inbox/alice/phone')).toBe('deny');
  });
  it('any user or bot device publishes; things and services do not', () => {
    expect(pub(bob, 'sotto/v1/inbox/alice/phone')).toBe('allow');
    expect(pub(lamp, 'sotto/v1/inbox/alice/phone')).toBe('deny');
    expect(pub(svc, 'sotto/v1/inbox/alice/phone')).toBe('deny');
  });
});

describe('group [ACL-2]', () => {
  it('asks for membership to subscribe, and for posting rights (announce) to publish', () => {
    expect(checkSubscribe(alice, 'sotto/v1/group/g1')).toEqual({
      verdict: 'member',
      rule: 'ACL-2',
      groupId: 'g1',
    });
    expect(checkPublish(alice, 'sotto/v1/group/g1', false)).toEqual({
      verdict: 'member',
      rule: 'ACL-2',
      groupId: 'g1',
      post: true,
    });
    expect(pub(lamp, 'sotto/v1/group/g1')).toBe('deny');
    expect(sub(lamp, 'sotto/v1/group/g1')).toBe('deny');
  });
});

describe('presence [ACL-3]', () => {
  it('any user reads exact presence topics; only the user writes its own', () => {
    expect(sub(bob, 'sotto/v1/presence/alice')).toBe('allow');
    expect(sub(bob, 'sotto/v1/presence/+')).toBe('deny');
    expect(pub(alice, 'sotto/v1/presence/alice', true)).toBe('allow');
    expect(pub(bob, 'sotto/v1/presence/alice')).toBe('deny');
    expect(sub(lamp, 'sotto/v1/presence/alice')).toBe('deny');
  });
});

describe('control [ACL-4, ACL-9]', () => {
  it('the addressed device reads; only the key server writes', () => {
    expect(sub(alice, 'sotto/v1/control/alice/phone')).toBe('allow');
    expect(sub(bob, 'sotto/v1/control/alice/phone')).toBe('deny');
    expect(pub(alice, 'sotto/v1/control/alice/phone')).toBe('deny');
    expect(checkPublish(svc, 'sotto/v1/control/alice/phone', false)).toEqual({
      verdict: 'allow',
      rule: 'ACL-9',
    });
    expect(sub(svc, 'sotto/v1/control/alice/phone')).toBe('deny');
  });
});

describe('iot [ACL-5]', () => {
  it('the owner may use wildcards below iot/{owner}/, the thing below its own topic', () => {
    expect(sub(alice, 'iot/alice/#')).toBe('allow');
    expect(sub(alice, 'iot/alice/+/state')).toBe('allow');
    expect(sub(alice, 'iot/+/lamp/#')).toBe('deny');
    expect(sub(bob, 'iot/alice/#')).toBe('deny');
    expect(sub(lamp, 'iot/alice/lamp/#')).toBe('allow');
    expect(sub(lamp, 'iot/alice/lamp/cmd')).toBe('allow');
    expect(sub(lamp, 'iot/alice/+/#')).toBe('deny');
    expect(sub(lamp, 'iot/alice/#')).toBe('deny');
    expect(sub(lamp, 'iot/alice/lampx/#')).toBe('deny');
  });
  it('publishes only on concrete topics of the owner or the thing itself', () => {
    expect(pub(alice, 'iot/alice/lamp/cmd')).toBe('allow');
    expect(pub(lamp, 'iot/alice/lamp/state')).toBe('allow');
    expect(pub(lamp, 'iot/alice/heater/state')).toBe('deny');
    expect(pub(bob, 'iot/alice/lamp/cmd')).toBe('deny');
    expect(pub(alice, 'iot/Alice/lamp')).toBe('deny');
  });
});

describe('everything else [ACL-6, deny by default]', () => {
  it('refuses root wildcards, $SYS, wildcards under sotto/ and unknown topics', () => {
    for (const f of [
      '#',
      '+',
      '+/#',
      '$SYS/#',
      '$SYS/broker/clients',
      'sotto/#',
      'sotto/v1/+/alice/phone',
      'sotto/v1/inbox/+/+',
      'sotto/v1/inbox/alice/#',
      'sotto/v2/inbox/alice/phone',
      'foo/bar',
      'sotto/v1/inbox/alice/phone/extra',
      '',
    ]) {
      expect(sub(alice, f), f).toBe('deny');
    }
    for (const t of [
      '$SYS/x',
      'foo',
      'sotto/v1/unknown/x',
      'sotto/v1/inbox/alice',
      'sotto/v1/inbox/alice/phone/x',
      'sotto/v1/group/g1/x',
      'sotto/v1/inbox/Alice/phone',
    ]) {
      expect(pub(alice, t), t).toBe('deny');
    }
    expect(checkSubscribe(alice, '#').rule).toBe('ACL-6');
    expect(checkSubscribe(alice, '$SYS/#').rule).toBe('ACL-6');
  });
});

describe('retained messages [ACL-7]', () => {
  it("are refused everywhere except the publisher's own presence", () => {
    expect(checkPublish(bob, 'sotto/v1/inbox/alice/phone', true)).toEqual({
      verdict: 'deny',
      rule: 'ACL-7',
    });
    expect(checkPublish(lamp, 'iot/alice/lamp/state', true)).toEqual({
      verdict: 'deny',
      rule: 'ACL-7',
    });
    expect(checkPublish(alice, 'sotto/v1/presence/alice', true).verdict).toBe('allow');
  });
});

describe('operator policy [ACL-10]', () => {
  const policy = parsePolicy(`
# lab namespace
pattern read metrics/%u/#
# per-connection scratch space
pattern readwrite clients/%c/#
user alice
topic readwrite lab/shared/#
topic read news/+
`);
  it('grants only what the rules say, per account, with %u and %c substituted', () => {
    expect(checkSubscribe(alice, 'lab/shared/#', policy)).toEqual({
      verdict: 'allow',
      rule: 'ACL-10',
    });
    expect(checkPublish(alice, 'lab/shared/x', false, policy).verdict).toBe('allow');
    expect(checkSubscribe(bob, 'lab/shared/#', policy).verdict).toBe('deny');
    expect(checkSubscribe(alice, 'news/today', policy).verdict).toBe('allow');
    expect(checkSubscribe(alice, 'news/#', policy).verdict).toBe('deny');
    expect(checkPublish(alice, 'news/today', false, policy).verdict).toBe('deny');
    expect(checkSubscribe(bob, 'metrics/bob/#', policy).verdict).toBe('allow');
    expect(checkSubscribe(bob, 'metrics/alice/#', policy).verdict).toBe('deny');
    expect(checkSubscribe(bob, 'metrics/+/#', policy).verdict).toBe('deny');
    expect(checkPublish(bob, 'clients/bob:b1/x', false, policy).verdict).toBe('allow');
    expect(checkPublish(lamp, 'clients/thing:alice:lamp/x', false, policy).verdict).toBe('allow');
    expect(checkSubscribe(svc, 'metrics/keyserver/#', policy).verdict).toBe('deny');
  });
  it('can never widen the built-in namespaces', () => {
    expect(() => parsePolicy('pattern readwrite sotto/#')).toThrow(ConfigError);
    expect(() => parsePolicy('pattern readwrite iot/%u/#')).toThrow(ConfigError);
    expect(() => parsePolicy('pattern read $SYS/#')).toThrow(ConfigError);
    // Wildcards at the root are Mosquitto syntax and allowed; they never reach the built-in
    // namespaces: the device rules refuse them for devices ([ACL-6]), and for an operator client
    // every concrete topic is checked ([ACL-11]).
    const wide = parsePolicy('pattern read #\npattern read +/x');
    expect(checkSubscribe(bob, '#', wide)).toEqual({ verdict: 'deny', rule: 'ACL-6' });
    const op: Identity = { kind: 'operator', clientId: 'probe', username: 'bob' };
    expect(checkSubscribe(op, '#', wide).verdict).toBe('allow');
    expect(checkSubscribe(op, 'sotto/v1/inbox/alice/phone', wide)).toEqual({
      verdict: 'deny',
      rule: 'ACL-11',
    });
    expect(checkSubscribe(op, '$SYS/broker/uptime', wide).rule).toBe('ACL-11');
    expect(checkSubscribe(op, 'iot/alice/lamp/state', wide).rule).toBe('ACL-11');
    // Even a valid policy answers only for its own namespaces.
    expect(checkSubscribe(bob, 'sotto/v1/inbox/alice/phone', policy).verdict).toBe('deny');
  });
  it('gives anonymous clients the rules before the first user line, deny rules win, retained where written', () => {
    const p = parsePolicy(
      'allow_anonymous true\ntopic read pub/#\npattern readwrite c/%c/#\npattern read m/%u\nuser op\ntopic readwrite lab/#\ntopic deny lab/secret',
    );
    expect(p.allowAnonymous).toBe(true);
    const anon: Identity = { kind: 'operator', clientId: 'x1', username: null };
    const op: Identity = { kind: 'operator', clientId: 'x2', username: 'op' };
    expect(checkSubscribe(anon, 'pub/#', p).verdict).toBe('allow');
    expect(checkSubscribe(anon, 'lab/#', p).verdict).toBe('deny');
    expect(checkPublish(anon, 'c/x1/a', true, p).verdict).toBe('allow');
    expect(checkSubscribe(anon, 'm/', p).verdict).toBe('deny'); // %u never matches anonymous
    expect(checkSubscribe(op, 'pub/#', p).verdict).toBe('deny');
    expect(checkPublish(op, 'lab/a', true, p).verdict).toBe('allow');
    expect(checkPublish(op, 'lab/secret', false, p).verdict).toBe('deny');
    expect(checkSubscribe(op, 'lab/#', p).verdict).toBe('allow'); // the part is refused per delivery:
    expect(checkSubscribe(op, 'lab/secret', p).verdict).toBe('deny');
    expect(checkPublish(anon, 'pub/x', true, p).verdict).toBe('deny');
  });
  it('is parsed strictly', () => {
    expect(() => parsePolicy('allow_anonymous yes')).toThrow(/allow_anonymous/);
    expect(() => parsePolicy('user al ice')).toThrow(ConfigError);
    expect(() => parsePolicy('user alice\ntopic rw lab/#')).toThrow(/access/);
    expect(() => parsePolicy('user alice\ntopic read sotto/v1/#')).toThrow(/sotto/);
    expect(() => parsePolicy('user alice\ntopic read lab/#/x')).toThrow(/malformed/);
    expect(() => parsePolicy('user alice\ntopic read lab/a+')).toThrow(/malformed/);
    expect(() => parsePolicy('pattern read lab/%x')).toThrow(/substitution/);
    expect(() => parsePolicy('user alice\ntopic read lab/%u')).toThrow(/substitution/);
    expect(() => parsePolicy('allow all')).toThrow(/line 1: unknown directive/);
  });
  it('covers a requested filter only when every topic it matches is granted', () => {
    expect(filterCovers('a/#', 'a')).toBe(true);
    expect(filterCovers('a/#', 'a/b/+')).toBe(true);
    expect(filterCovers('a/+', 'a/#')).toBe(false);
    expect(filterCovers('a/b', 'a/+')).toBe(false);
    expect(filterCovers('a/+/c', 'a/x/c')).toBe(true);
  });
});
