/**
 * Broker process for the benchmark: `createBroker` with authentication and
 * the full ACL on (token verification, topic rules, group membership), an
 * in-memory ACL store (every user known and active, groups as configured),
 * optionally clustered on Redis. Started with `fork()` by broker.bench.ts;
 * configuration arrives as JSON in argv[2], readiness and
 * memory figures go back over IPC. The per-client publish rate limit is
 * raised so it does not cap throughput figures (it is a policy, not a cost).
 */
import { createServer } from 'node:http';
import { createTokenVerifier } from '@sotto/server-core/tokens';
// Through the package name, so `--conditions=sotto:dist` (cost-probe.ts --dist) loads the build.
import { createBroker, createRedisBackends, type AclStoreQueries } from '@sotto/broker';
import { serveBenchIpc } from './bench-ipc.ts';

interface Cfg {
  tcpPort: number;
  wsPort: number;
  publicKeyPem: string;
  redisUrl?: string;
  id?: string;
  groups: Record<string, string[]>;
}
const cfg = JSON.parse(process.argv[2] ?? '{}') as Cfg;
const groups = new Map(Object.entries(cfg.groups).map(([g, m]) => [g, new Set(m)]));
const store: AclStoreQueries = {
  isTokenRevoked: () => Promise.resolve(false),
  isDeviceActive: () => Promise.resolve(true),
  groupMembers: (g) => Promise.resolve(groups.has(g) ? [...groups.get(g)!] : null),
  isGroupMember: (g, u) => Promise.resolve(groups.get(g)?.has(u) ?? false),
  sharesGroup: (a, b) => Promise.resolve([...groups.values()].some((m) => m.has(a) && m.has(b))),
  groupPosters: (g) => Promise.resolve(groups.has(g) ? [...groups.get(g)!] : null),
  verifyThingCredential: () => Promise.resolve(false),
  isThingActive: () => Promise.resolve(false),
  userExists: () => Promise.resolve(true),
  listDevices: () => Promise.resolve([]),
  getUserSettings: () => Promise.resolve({ presenceVisible: true }),
  listBlocked: () => Promise.resolve([]),
};
const verifier = createTokenVerifier({
  publicKey: cfg.publicKeyPem,
  issuer: 'sotto',
  audience: 'sotto',
});
const broker = await createBroker({
  store,
  verifyToken: (t) => verifier.verify(t),
  presence: false,
  ...(cfg.id ? { id: cfg.id } : {}),
  ...(cfg.redisUrl ? createRedisBackends(cfg.redisUrl) : {}),
  limits: { publishRatePerSec: 1_000_000, publishBurst: 1_000_000, maxConnectionsPerIp: 0 },
});
await broker.listenTcp(cfg.tcpPort, '127.0.0.1');
const http = createServer((_q, r) => r.writeHead(404).end());
broker.attachWebSocket(http, '/mqtt');
await new Promise<void>((r) => http.listen(cfg.wsPort, '127.0.0.1', r));
serveBenchIpc();
