"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.ByteReader = exports.ByteWriter = void 0;
exports.concat = concat;
exports.equalBytes = equalBytes;
exports.wipe = wipe;
exports.utf8 = utf8;
exports.fromUtf8 = fromUtf8;
exports.toBase64 = toBase64;
exports.fromBase64 = fromBase64;
exports.toHex = toHex;
exports.fromHex = fromHex;
/**
 * Byte helpers shared by every wire format: concatenation, constant-time
 * comparison, base64url, and a bounds-checked reader/writer pair whose failures
 * are `CryptoError('MALFORMED')`, never a RangeError from a typed array.
 */
var errors_ts_1 = require("./errors.ts");
var sodium_ts_1 = require("./sodium.ts");
/** Concatenate byte arrays into a new array. */
function concat() {
    var parts = [];
    for (var _i = 0; _i < arguments.length; _i++) {
        parts[_i] = arguments[_i];
    }
    var length = 0;
    for (var _a = 0, parts_1 = parts; _a < parts_1.length; _a++) {
        var p = parts_1[_a];
        length += p.length;
    }
    var out = new Uint8Array(length);
    var offset = 0;
    for (var _b = 0, parts_2 = parts; _b < parts_2.length; _b++) {
        var p = parts_2[_b];
        out.set(p, offset);
        offset += p.length;
    }
    return out;
}
/** Constant-time equality for equal-length inputs; false for different lengths. */
function equalBytes(a, b) {
    if (a.length !== b.length)
        return false;
    return (0, sodium_ts_1.sodium)().memcmp(a, b);
}
/** Overwrite a secret with zeros once it is no longer needed. */
function wipe() {
    var secrets = [];
    for (var _i = 0; _i < arguments.length; _i++) {
        secrets[_i] = arguments[_i];
    }
    for (var _a = 0, secrets_1 = secrets; _a < secrets_1.length; _a++) {
        var s = secrets_1[_a];
        if (s)
            (0, sodium_ts_1.sodium)().memzero(s);
    }
}
/** UTF-8 encode. */
function utf8(text) {
    return new TextEncoder().encode(text);
}
/** UTF-8 decode, rejecting invalid sequences as MALFORMED. */
function fromUtf8(bytes) {
    try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    }
    catch (cause) {
        throw new errors_ts_1.CryptoError('MALFORMED', 'invalid UTF-8', { cause: cause });
    }
}
/** base64url without padding: the encoding of every binary field in JSON (PROTOCOL.md §1). */
function toBase64(bytes) {
    var s = (0, sodium_ts_1.sodium)();
    return s.to_base64(bytes, s.base64_variants.URLSAFE_NO_PADDING);
}
/** Decode base64url without padding; anything else is MALFORMED. */
function fromBase64(text) {
    var s = (0, sodium_ts_1.sodium)();
    if (!/^[A-Za-z0-9_-]*$/.test(text)) {
        throw new errors_ts_1.CryptoError('MALFORMED', 'not base64url');
    }
    try {
        return s.from_base64(text, s.base64_variants.URLSAFE_NO_PADDING);
    }
    catch (cause) {
        throw new errors_ts_1.CryptoError('MALFORMED', 'not base64url', { cause: cause });
    }
}
/** Lower-case hex. */
function toHex(bytes) {
    return (0, sodium_ts_1.sodium)().to_hex(bytes);
}
/** Decode hex; anything else is MALFORMED. */
function fromHex(text) {
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(text))
        throw new errors_ts_1.CryptoError('MALFORMED', 'not hex');
    return (0, sodium_ts_1.sodium)().from_hex(text);
}
/** Appends fixed-width big-endian integers and length-prefixed fields. */
var ByteWriter = /** @class */ (function () {
    function ByteWriter() {
        this.chunks = [];
    }
    ByteWriter.prototype.u8 = function (value) {
        if (!Number.isInteger(value) || value < 0 || value > 0xff)
            throw new RangeError("u8 out of range: ".concat(value));
        this.chunks.push(Uint8Array.of(value));
        return this;
    };
    ByteWriter.prototype.u16 = function (value) {
        if (!Number.isInteger(value) || value < 0 || value > 0xffff)
            throw new RangeError("u16 out of range: ".concat(value));
        this.chunks.push(Uint8Array.of(value >>> 8, value & 0xff));
        return this;
    };
    ByteWriter.prototype.u32 = function (value) {
        if (!Number.isInteger(value) || value < 0 || value > 0xffffffff)
            throw new RangeError("u32 out of range: ".concat(value));
        var b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, value);
        this.chunks.push(b);
        return this;
    };
    /** Unsigned 64-bit integer from a safe JS number (timestamps in ms). */
    ByteWriter.prototype.u64 = function (value) {
        if (!Number.isSafeInteger(value) || value < 0)
            throw new RangeError("u64 out of range: ".concat(value));
        var b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt(value));
        this.chunks.push(b);
        return this;
    };
    /** Raw bytes, no length: for fixed-size fields. */
    ByteWriter.prototype.raw = function (bytes) {
        this.chunks.push(bytes);
        return this;
    };
    /** u8 length then bytes (≤ 255). */
    ByteWriter.prototype.bytes8 = function (bytes) {
        return this.u8(bytes.length).raw(bytes);
    };
    /** u16 length then bytes (≤ 65535). */
    ByteWriter.prototype.bytes16 = function (bytes) {
        return this.u16(bytes.length).raw(bytes);
    };
    /** u32 length then bytes. */
    ByteWriter.prototype.bytes32 = function (bytes) {
        return this.u32(bytes.length).raw(bytes);
    };
    /** u8 length then UTF-8 text. */
    ByteWriter.prototype.string8 = function (text) {
        return this.bytes8(utf8(text));
    };
    ByteWriter.prototype.finish = function () {
        return concat.apply(void 0, this.chunks);
    };
    return ByteWriter;
}());
exports.ByteWriter = ByteWriter;
/** Reads what {@link ByteWriter} wrote; every overrun is `CryptoError('MALFORMED')`. */
var ByteReader = /** @class */ (function () {
    function ByteReader(buf) {
        this.buf = buf;
        this.offset = 0;
    }
    Object.defineProperty(ByteReader.prototype, "remaining", {
        get: function () {
            return this.buf.length - this.offset;
        },
        enumerable: false,
        configurable: true
    });
    ByteReader.prototype.take = function (n, what) {
        if (n < 0 || this.offset + n > this.buf.length) {
            throw new errors_ts_1.CryptoError('MALFORMED', "truncated ".concat(what));
        }
        var out = this.buf.subarray(this.offset, this.offset + n);
        this.offset += n;
        return out;
    };
    ByteReader.prototype.u8 = function (what) {
        if (what === void 0) { what = 'u8'; }
        return this.take(1, what)[0];
    };
    ByteReader.prototype.u16 = function (what) {
        if (what === void 0) { what = 'u16'; }
        var b = this.take(2, what);
        return (b[0] << 8) | b[1];
    };
    ByteReader.prototype.u32 = function (what) {
        if (what === void 0) { what = 'u32'; }
        var b = this.take(4, what);
        return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
    };
    ByteReader.prototype.u64 = function (what) {
        if (what === void 0) { what = 'u64'; }
        var b = this.take(8, what);
        var v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
        if (v > BigInt(Number.MAX_SAFE_INTEGER))
            throw new errors_ts_1.CryptoError('MALFORMED', "".concat(what, " too large"));
        return Number(v);
    };
    /** Exactly `n` bytes, copied so callers may keep or wipe them independently. */
    ByteReader.prototype.raw = function (n, what) {
        if (what === void 0) { what = 'bytes'; }
        return this.take(n, what).slice();
    };
    ByteReader.prototype.bytes8 = function (what) {
        if (what === void 0) { what = 'bytes'; }
        return this.raw(this.u8(what), what);
    };
    ByteReader.prototype.bytes16 = function (what) {
        if (what === void 0) { what = 'bytes'; }
        return this.raw(this.u16(what), what);
    };
    ByteReader.prototype.bytes32 = function (what, max) {
        if (what === void 0) { what = 'bytes'; }
        if (max === void 0) { max = 64 * 1024 * 1024; }
        var n = this.u32(what);
        if (n > max)
            throw new errors_ts_1.CryptoError('OVERSIZED', "".concat(what, " longer than ").concat(max, " bytes"));
        return this.raw(n, what);
    };
    ByteReader.prototype.string8 = function (what) {
        if (what === void 0) { what = 'string'; }
        return fromUtf8(this.bytes8(what));
    };
    /** All bytes not yet read. */
    ByteReader.prototype.rest = function () {
        return this.take(this.remaining, 'rest');
    };
    /** Throws MALFORMED if anything is left: every format is parsed to its exact end. */
    ByteReader.prototype.end = function (what) {
        if (what === void 0) { what = 'input'; }
        if (this.remaining !== 0)
            throw new errors_ts_1.CryptoError('MALFORMED', "trailing bytes after ".concat(what));
    };
    return ByteReader;
}());
exports.ByteReader = ByteReader;
