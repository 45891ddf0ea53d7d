"use strict";
/**
 * Typed errors for everything the protocol library rejects. Callers switch on
 * `code`, never on message text; the codes are stable and documented in
 * docs/PROTOCOL.md §9.
 */
var __extends = (this && this.__extends) || (function () {
    var extendStatics = function (d, b) {
        extendStatics = Object.setPrototypeOf ||
            ({ __proto__: [] } instanceof Array && function (d, b) { d.__proto__ = b; }) ||
            function (d, b) { for (var p in b) if (Object.prototype.hasOwnProperty.call(b, p)) d[p] = b[p]; };
        return extendStatics(d, b);
    };
    return function (d, b) {
        if (typeof b !== "function" && b !== null)
            throw new TypeError("Class extends value " + String(b) + " is not a constructor or null");
        extendStatics(d, b);
        function __() { this.constructor = d; }
        d.prototype = b === null ? Object.create(b) : (__.prototype = b.prototype, new __());
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.CryptoError = void 0;
exports.isCryptoError = isCryptoError;
/** An error raised by `@sotto/crypto` for bad input; `code` says which kind. */
var CryptoError = /** @class */ (function (_super) {
    __extends(CryptoError, _super);
    function CryptoError(code, message, options) {
        var _this = _super.call(this, message, options) || this;
        _this.code = code;
        _this.name = 'CryptoError';
        return _this;
    }
    return CryptoError;
}(Error));
exports.CryptoError = CryptoError;
/** True when `err` is a {@link CryptoError}, optionally of the given code. */
function isCryptoError(err, code) {
    return err instanceof CryptoError && (code === undefined || err.code === code);
}
