"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.LABELS = void 0;
exports.hash = hash;
exports.keyedHash = keyedHash;
exports.kdf = kdf;
exports.chainStep = chainStep;
exports.labelBytes = labelBytes;
/**
 * Key derivation on BLAKE2b (PROTOCOL.md §2). Every derivation names its
 * purpose with a label from {@link LABELS}, so keys for one use can never be
 * confused with keys for another.
 */
var bytes_ts_1 = require("./bytes.ts");
var sodium_ts_1 = require("./sodium.ts");
/** Domain-separation labels; changing one changes every derived key (the KATs catch it). */
exports.LABELS = {
    /** PQXDH handshake: shared secret → root key and first chain key. */
    handshake: 'Sotto_v1_PQXDH',
    /** Double Ratchet root step: (root key, DH output) → (root key, chain key). */
    ratchetRoot: 'Sotto_v1_RatchetRoot',
    /** Message key → AEAD key and nonce. */
    messageKeys: 'Sotto_v1_MessageKeys',
    /** Sender-key message key → AEAD key and nonce. */
    senderMessageKeys: 'Sotto_v1_SenderMessageKeys',
    /** Safety number iteration. */
    safetyNumber: 'Sotto_v1_SafetyNumber',
    /** Membership record hash chain. */
    membership: 'Sotto_v1_Membership',
    /** Attachment content hash. */
    attachment: 'Sotto_v1_Attachment',
};
/** Plain BLAKE2b-256 (or `length` bytes, 16–64) of the concatenated inputs. */
function hash(length) {
    var parts = [];
    for (var _i = 1; _i < arguments.length; _i++) {
        parts[_i - 1] = arguments[_i];
    }
    return (0, sodium_ts_1.sodium)().crypto_generichash(length, bytes_ts_1.concat.apply(void 0, parts), null);
}
/** Keyed BLAKE2b: a PRF, used where HKDF would use HMAC. */
function keyedHash(key, length) {
    var parts = [];
    for (var _i = 2; _i < arguments.length; _i++) {
        parts[_i - 2] = arguments[_i];
    }
    return (0, sodium_ts_1.sodium)().crypto_generichash(length, bytes_ts_1.concat.apply(void 0, parts), key);
}
/**
 * HKDF (RFC 5869 structure) with keyed BLAKE2b-512 in place of HMAC:
 * PRK = BLAKE2b(key = salt or 64 zero bytes, ikm);
 * T(i) = BLAKE2b(key = PRK, T(i-1) ‖ u8 len(label) ‖ label ‖ info ‖ u8 i); output = T(1) ‖ T(2) … cut to `length`.
 */
function kdf(ikm, salt, label, length, info) {
    if (info === void 0) { info = new Uint8Array(0); }
    var s = (0, sodium_ts_1.sodium)();
    if (length < 1 || length > 255 * 64)
        throw new RangeError("kdf length out of range: ".concat(length));
    var saltKey = salt && salt.length > 0 ? salt : new Uint8Array(s.crypto_generichash_KEYBYTES_MAX);
    // BLAKE2b keys are at most 64 bytes; longer salts are hashed down first.
    var prkKey = saltKey.length > s.crypto_generichash_KEYBYTES_MAX ? hash(64, saltKey) : saltKey;
    var prk = s.crypto_generichash(64, ikm, prkKey);
    var labelBytes = new bytes_ts_1.ByteWriter().string8(label).finish();
    var out = new Uint8Array(length);
    var prev = new Uint8Array(0);
    for (var i = 1, offset = 0; offset < length; i++) {
        prev = s.crypto_generichash(64, (0, bytes_ts_1.concat)(prev, labelBytes, info, Uint8Array.of(i)), prk);
        out.set(prev.subarray(0, Math.min(64, length - offset)), offset);
        offset += 64;
    }
    s.memzero(prk);
    return out;
}
/** Constants of the symmetric chain step (Signal's 0x01 / 0x02). */
var MESSAGE_KEY_SEED = Uint8Array.of(0x01);
var CHAIN_KEY_SEED = Uint8Array.of(0x02);
/**
 * One step of a symmetric KDF chain (Double Ratchet and Sender Keys alike):
 * messageKey = BLAKE2b-256(key = ck, 0x01); nextChainKey = BLAKE2b-256(key = ck, 0x02).
 */
function chainStep(chainKey) {
    var s = (0, sodium_ts_1.sodium)();
    return {
        messageKey: s.crypto_generichash(32, MESSAGE_KEY_SEED, chainKey),
        nextChainKey: s.crypto_generichash(32, CHAIN_KEY_SEED, chainKey),
    };
}
/** Label as bytes, for callers that bind it into associated data. */
function labelBytes(label) {
    return (0, bytes_ts_1.utf8)(label);
}
