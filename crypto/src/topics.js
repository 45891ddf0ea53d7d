"use strict";
/**
 * MQTT topic names, built and parsed only here (DESIGN.md §4.2, PROTOCOL.md §7).
 * Client, key server and broker all import these functions, so a topic string
 * is defined exactly once. Pure string code, no I/O.
 */
Object.defineProperty(exports, "__esModule", { value: true });
exports.THING_PATTERN = exports.GROUP_ID_PATTERN = exports.DEVICE_ID_PATTERN = exports.USERNAME_PATTERN = void 0;
exports.inboxTopic = inboxTopic;
exports.groupTopic = groupTopic;
exports.presenceTopic = presenceTopic;
exports.controlTopic = controlTopic;
exports.thingTopic = thingTopic;
exports.deviceClientId = deviceClientId;
exports.thingClientId = thingClientId;
exports.parseTopic = parseTopic;
/** Usernames: `^[a-z0-9_]{3,32}$`. Never contain `/`, `+`, `#` or NUL, so they cannot widen a topic. */
exports.USERNAME_PATTERN = /^[a-z0-9_]{3,32}$/;
/** Device ids: 1–64 of `[A-Za-z0-9_-]`. */
exports.DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Group ids: 1–64 of `[A-Za-z0-9_-]` (clients use 22-char base64url of 16 random bytes). */
exports.GROUP_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** IoT thing names: 1–64 of `[a-z0-9_-]`. */
exports.THING_PATTERN = /^[a-z0-9_-]{1,64}$/;
var PREFIX = 'sotto/v1';
function check(pattern, value, name) {
    if (!pattern.test(value))
        throw new RangeError("invalid ".concat(name, ": ").concat(JSON.stringify(value)));
    return value;
}
/** `sotto/v1/inbox/{user}/{device}`: one device's DM inbox. */
function inboxTopic(user, device) {
    return "".concat(PREFIX, "/inbox/").concat(check(exports.USERNAME_PATTERN, user, 'username'), "/").concat(check(exports.DEVICE_ID_PATTERN, device, 'deviceId'));
}
/** `sotto/v1/group/{groupId}`: a group's shared topic. */
function groupTopic(groupId) {
    return "".concat(PREFIX, "/group/").concat(check(exports.GROUP_ID_PATTERN, groupId, 'groupId'));
}
/** `sotto/v1/presence/{user}` (retained). */
function presenceTopic(user) {
    return "".concat(PREFIX, "/presence/").concat(check(exports.USERNAME_PATTERN, user, 'username'));
}
/** `sotto/v1/control/{user}/{device}`: key server → device notices. */
function controlTopic(user, device) {
    return "".concat(PREFIX, "/control/").concat(check(exports.USERNAME_PATTERN, user, 'username'), "/").concat(check(exports.DEVICE_ID_PATTERN, device, 'deviceId'));
}
/** `iot/{owner}/{thing}` root; sub-topics hang below it. */
function thingTopic(owner, thing) {
    var rest = [];
    for (var _i = 2; _i < arguments.length; _i++) {
        rest[_i - 2] = arguments[_i];
    }
    var base = "iot/".concat(check(exports.USERNAME_PATTERN, owner, 'owner'), "/").concat(check(exports.THING_PATTERN, thing, 'thing'));
    return rest.length ? "".concat(base, "/").concat(rest.join('/')) : base;
}
/** MQTT client id of a user's device: `{user}:{device}`. */
function deviceClientId(user, device) {
    return "".concat(check(exports.USERNAME_PATTERN, user, 'username'), ":").concat(check(exports.DEVICE_ID_PATTERN, device, 'deviceId'));
}
/** MQTT client id of a thing: `thing:{owner}:{thing}`. */
function thingClientId(owner, thing) {
    return "thing:".concat(check(exports.USERNAME_PATTERN, owner, 'owner'), ":").concat(check(exports.THING_PATTERN, thing, 'thing'));
}
/**
 * Parse a concrete topic name (no wildcards). Returns `null` unless every
 * level matches the contract exactly, so a caller can deny by default.
 */
function parseTopic(topic) {
    var parts = topic.split('/');
    if (parts[0] === 'sotto' && parts[1] === 'v1') {
        var kind = parts[2], a = parts[3], b = parts[4], extra = parts.slice(5);
        if (extra.length)
            return null;
        switch (kind) {
            case 'inbox':
            case 'control':
                if (a && b && exports.USERNAME_PATTERN.test(a) && exports.DEVICE_ID_PATTERN.test(b))
                    return { kind: kind, user: a, device: b };
                return null;
            case 'group':
                if (a && b === undefined && exports.GROUP_ID_PATTERN.test(a))
                    return { kind: kind, groupId: a };
                return null;
            case 'presence':
                if (a && b === undefined && exports.USERNAME_PATTERN.test(a))
                    return { kind: kind, user: a };
                return null;
            default:
                return null;
        }
    }
    if (parts[0] === 'iot') {
        var owner = parts[1], thing = parts[2], rest = parts.slice(3);
        if (owner && thing && exports.USERNAME_PATTERN.test(owner) && exports.THING_PATTERN.test(thing)) {
            return { kind: 'iot', owner: owner, thing: thing, rest: rest };
        }
    }
    return null;
}
