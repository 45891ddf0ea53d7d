"use strict";
var __awaiter = (this && this.__awaiter) || function (thisArg, _arguments, P, generator) {
    function adopt(value) { return value instanceof P ? value : new P(function (resolve) { resolve(value); }); }
    return new (P || (P = Promise))(function (resolve, reject) {
        function fulfilled(value) { try { step(generator.next(value)); } catch (e) { reject(e); } }
        function rejected(value) { try { step(generator["throw"](value)); } catch (e) { reject(e); } }
        function step(result) { result.done ? resolve(result.value) : adopt(result.value).then(fulfilled, rejected); }
        step((generator = generator.apply(thisArg, _arguments || [])).next());
    });
};
var __generator = (this && this.__generator) || function (thisArg, body) {
    var _ = { label: 0, sent: function() { if (t[0] & 1) throw t[1]; return t[1]; }, trys: [], ops: [] }, f, y, t, g = Object.create((typeof Iterator === "function" ? Iterator : Object).prototype);
    return g.next = verb(0), g["throw"] = verb(1), g["return"] = verb(2), typeof Symbol === "function" && (g[Symbol.iterator] = function() { return this; }), g;
    function verb(n) { return function (v) { return step([n, v]); }; }
    function step(op) {
        if (f) throw new TypeError("Generator is already executing.");
        while (g && (g = 0, op[0] && (_ = 0)), _) try {
            if (f = 1, y && (t = op[0] & 2 ? y["return"] : op[0] ? y["throw"] || ((t = y["return"]) && t.call(y), 0) : y.next) && !(t = t.call(y, op[1])).done) return t;
            if (y = 0, t) op = [op[0] & 2, t.value];
            switch (op[0]) {
                case 0: case 1: t = op; break;
                case 4: _.label++; return { value: op[1], done: false };
                case 5: _.label++; y = op[1]; op = [0]; continue;
                case 7: op = _.ops.pop(); _.trys.pop(); continue;
                default:
                    if (!(t = _.trys, t = t.length > 0 && t[t.length - 1]) && (op[0] === 6 || op[0] === 2)) { _ = 0; continue; }
                    if (op[0] === 3 && (!t || (op[1] > t[0] && op[1] < t[3]))) { _.label = op[1]; break; }
                    if (op[0] === 6 && _.label < t[1]) { _.label = t[1]; t = op; break; }
                    if (t && _.label < t[2]) { _.label = t[2]; _.ops.push(op); break; }
                    if (t[2]) _.ops.pop();
                    _.trys.pop(); continue;
            }
            op = body.call(thisArg, _);
        } catch (e) { op = [6, e]; y = 0; } finally { f = t = 0; }
        if (op[0] & 5) throw op[1]; return { value: op[0] ? op[1] : void 0, done: true };
    }
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.freePort = freePort;
exports.waitFor = waitFor;
/**
 * Free TCP ports on 127.0.0.1 for tests that start real servers. The OS picks
 * the port (bind to 0), so parallel test files never collide.
 */
var node_net_1 = require("node:net");
/** A currently free port on 127.0.0.1. */
function freePort() {
    return __awaiter(this, void 0, void 0, function () {
        return __generator(this, function (_a) {
            return [2 /*return*/, new Promise(function (resolve, reject) {
                    var srv = (0, node_net_1.createServer)();
                    srv.unref();
                    srv.on('error', reject);
                    srv.listen(0, '127.0.0.1', function () {
                        var addr = srv.address();
                        if (addr === null || typeof addr === 'string') {
                            srv.close();
                            reject(new Error('no port'));
                            return;
                        }
                        var port = addr.port;
                        srv.close(function () { return resolve(port); });
                    });
                })];
        });
    });
}
/** Poll `check` every `intervalMs` until it returns true or `timeoutMs` passes (bounded). */
function waitFor(check_1) {
    return __awaiter(this, arguments, void 0, function (check, _a) {
        var deadline;
        var _b = _a === void 0 ? {} : _a, _c = _b.timeoutMs, timeoutMs = _c === void 0 ? 10000 : _c, _d = _b.intervalMs, intervalMs = _d === void 0 ? 25 : _d, _e = _b.what, what = _e === void 0 ? 'condition' : _e;
        return __generator(this, function (_f) {
            switch (_f.label) {
                case 0:
                    deadline = Date.now() + timeoutMs;
                    _f.label = 1;
                case 1: return [4 /*yield*/, check()];
                case 2:
                    if (_f.sent())
                        return [2 /*return*/];
                    if (Date.now() > deadline)
                        throw new Error("timed out after ".concat(timeoutMs, " ms waiting for ").concat(what));
                    return [4 /*yield*/, new Promise(function (r) { return setTimeout(r, intervalMs); })];
                case 3:
                    _f.sent();
                    _f.label = 4;
                case 4: return [3 /*break*/, 1];
                case 5: return [2 /*return*/];
            }
        });
    });
}
