"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.EnvelopeTypeName = exports.EnvelopeType = exports.MAX_ENVELOPE_BYTES = exports.ENVELOPE_VERSION = void 0;
exports.isEnvelopeType = isEnvelopeType;
exports.frameEnvelope = frameEnvelope;
exports.unframeEnvelope = unframeEnvelope;
/**
 * The outer binary envelope on `inbox` and `group` topics (PROTOCOL.md §5):
 *
 *   u8 version (= 1) ‖ u8 type ‖ body (the type's header and ciphertext)
 *
 * This module frames and unframes; each type's body is defined once in the
 * module that owns it (`session.ts` for PREKEY/RATCHET/SENDER_KEY, `senderkeys.ts`
 * for GROUP). The type byte is always bound into the AEAD associated data by the
 * body's owner, so a ciphertext can never be accepted under another type.
 */
var errors_ts_1 = require("./errors.ts");
/** The only envelope version this implementation speaks. */
exports.ENVELOPE_VERSION = 1;
/** Largest envelope accepted anywhere (a 64 KiB padded payload plus headers). */
exports.MAX_ENVELOPE_BYTES = 256 * 1024;
/**
 * Envelope types. Who sends what to whom:
 */
exports.EnvelopeType = {
    /** Device → device inbox: first messages of a new pairwise session (PQXDH header + ratchet message). */
    PREKEY: 1,
    /** Device → device inbox: a Double Ratchet message on an established session. */
    RATCHET: 2,
    /** Member device → group topic: a message encrypted once with the sender's chain and signed. */
    GROUP: 3,
    /** Device → device inbox: a ratchet message whose plaintext is a sender-key distribution, never shown to users. */
    SENDER_KEY: 4,
};
/** Reverse map: type byte → name. */
exports.EnvelopeTypeName = Object.fromEntries(Object.entries(exports.EnvelopeType).map(function (_a) {
    var k = _a[0], v = _a[1];
    return [v, k];
}));
/** True for a byte that names a known envelope type. */
function isEnvelopeType(value) {
    return Object.prototype.hasOwnProperty.call(exports.EnvelopeTypeName, value);
}
/** Frame a body: version ‖ type ‖ body. */
function frameEnvelope(type, body) {
    var out = new Uint8Array(2 + body.length);
    out[0] = exports.ENVELOPE_VERSION;
    out[1] = type;
    out.set(body, 2);
    return out;
}
/**
 * Unframe an envelope. Throws `CryptoError` MALFORMED (too short),
 * OVERSIZED, UNSUPPORTED_VERSION or UNKNOWN_TYPE; never anything else.
 */
function unframeEnvelope(bytes) {
    if (!(bytes instanceof Uint8Array))
        throw new errors_ts_1.CryptoError('MALFORMED', 'envelope is not bytes');
    if (bytes.length > exports.MAX_ENVELOPE_BYTES)
        throw new errors_ts_1.CryptoError('OVERSIZED', "envelope over ".concat(exports.MAX_ENVELOPE_BYTES, " bytes"));
    if (bytes.length < 2)
        throw new errors_ts_1.CryptoError('MALFORMED', 'envelope shorter than its header');
    if (bytes[0] !== exports.ENVELOPE_VERSION) {
        throw new errors_ts_1.CryptoError('UNSUPPORTED_VERSION', "envelope version ".concat(bytes[0], " is not ").concat(exports.ENVELOPE_VERSION));
    }
    var type = bytes[1];
    if (!isEnvelopeType(type))
        throw new errors_ts_1.CryptoError('UNKNOWN_TYPE', "envelope type ".concat(type, " is unknown"));
    return { type: type, body: bytes.subarray(2) };
}
