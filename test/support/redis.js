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
exports.startRedis = startRedis;
/**
 * Starts a real `redis-server` (Debian package) on a random port in a temporary
 * directory, for store, broker and cluster tests. Persistence is off unless
 * `aof` is asked for; the process is killed and the directory removed on stop.
 */
var node_child_process_1 = require("node:child_process");
var node_fs_1 = require("node:fs");
var node_net_1 = require("node:net");
var node_os_1 = require("node:os");
var node_path_1 = require("node:path");
var ports_ts_1 = require("./ports.ts");
function ping(port) {
    return __awaiter(this, void 0, void 0, function () {
        return __generator(this, function (_a) {
            return [2 /*return*/, new Promise(function (resolve) {
                    var sock = (0, node_net_1.createConnection)({ host: '127.0.0.1', port: port });
                    var done = function (ok) {
                        sock.destroy();
                        resolve(ok);
                    };
                    sock.setTimeout(500, function () { return done(false); });
                    sock.on('error', function () { return done(false); });
                    sock.on('connect', function () { return sock.write('PING\r\n'); });
                    sock.on('data', function (d) { return done(d.toString().startsWith('+PONG')); });
                })];
        });
    });
}
/** Start a Redis server; throws a clear error if `redis-server` is not installed. */
function startRedis() {
    return __awaiter(this, arguments, void 0, function (opts) {
        var port, dir, child, launch, kill;
        var _this = this;
        if (opts === void 0) { opts = {}; }
        return __generator(this, function (_a) {
            switch (_a.label) {
                case 0: return [4 /*yield*/, (0, ports_ts_1.freePort)()];
                case 1:
                    port = _a.sent();
                    dir = (0, node_fs_1.mkdtempSync)((0, node_path_1.join)((0, node_os_1.tmpdir)(), 'sotto-redis-'));
                    launch = function () { return __awaiter(_this, void 0, void 0, function () {
                        var args, proc, spawnError;
                        return __generator(this, function (_a) {
                            switch (_a.label) {
                                case 0:
                                    args = [
                                        '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
                                        '--save', '', '--appendonly', opts.aof ? 'yes' : 'no', '--appendfsync', 'always',
                                        '--protected-mode', 'yes', '--loglevel', 'warning',
                                    ];
                                    proc = (0, node_child_process_1.spawn)('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
                                    child = proc;
                                    spawnError = new Promise(function (_, reject) {
                                        return proc.once('error', function (err) {
                                            return reject(new Error("cannot start redis-server (apt-get install redis-server): ".concat(err.message)));
                                        });
                                    });
                                    return [4 /*yield*/, Promise.race([(0, ports_ts_1.waitFor)(function () { return ping(port); }, { timeoutMs: 10000, what: 'redis-server' }), spawnError])];
                                case 1:
                                    _a.sent();
                                    return [2 /*return*/];
                            }
                        });
                    }); };
                    kill = function (signal) { return __awaiter(_this, void 0, void 0, function () {
                        var proc;
                        return __generator(this, function (_a) {
                            switch (_a.label) {
                                case 0:
                                    proc = child;
                                    if (!proc || proc.exitCode !== null)
                                        return [2 /*return*/];
                                    return [4 /*yield*/, new Promise(function (resolve) {
                                            proc.once('exit', function () { return resolve(); });
                                            proc.kill(signal);
                                        })];
                                case 1:
                                    _a.sent();
                                    return [2 /*return*/];
                            }
                        });
                    }); };
                    return [4 /*yield*/, launch()];
                case 2:
                    _a.sent();
                    return [2 /*return*/, {
                            url: "redis://127.0.0.1:".concat(port),
                            port: port,
                            dir: dir,
                            stop: function () {
                                return __awaiter(this, arguments, void 0, function (_a) {
                                    var _b = _a === void 0 ? {} : _a, _c = _b.hard, hard = _c === void 0 ? false : _c, _d = _b.keepDir, keepDir = _d === void 0 ? false : _d;
                                    return __generator(this, function (_e) {
                                        switch (_e.label) {
                                            case 0: return [4 /*yield*/, kill(hard ? 'SIGKILL' : 'SIGTERM')];
                                            case 1:
                                                _e.sent();
                                                if (!keepDir)
                                                    (0, node_fs_1.rmSync)(dir, { recursive: true, force: true });
                                                return [2 /*return*/];
                                        }
                                    });
                                });
                            },
                            restart: function () {
                                return __awaiter(this, void 0, void 0, function () {
                                    return __generator(this, function (_a) {
                                        switch (_a.label) {
                                            case 0: return [4 /*yield*/, kill('SIGTERM')];
                                            case 1:
                                                _a.sent();
                                                return [4 /*yield*/, launch()];
                                            case 2:
                                                _a.sent();
                                                return [2 /*return*/];
                                        }
                                    });
                                });
                            },
                        }];
            }
        });
    });
}
