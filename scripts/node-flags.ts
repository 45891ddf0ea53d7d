/**
 * V8 flags the key server runs with: `npm start` (key server and broker in
 * one process), `npm start -w keyserver`, the key servers of `npm run
 * cluster`, the key-server Docker image (`NODE_OPTIONS`) and the key-server
 * benchmark's servers (not `npm run dev`, which restarts on edits). One list;
 * test/embedded/compose.test.ts checks that the package.json start scripts
 * and deploy/Dockerfile.keyserver carry the same one.
 *
 * `--max-semi-space-size=32` (MiB; Node 20's ceiling is 16 by default): with
 * the default, a key server answering Redis bundle claims settled, for its
 * whole lifetime, into one of two modes on a 2-vCPU AMD EPYC host: scavenges
 * of ~0.5 ms promoting nothing, or — in a third to two thirds of the
 * processes, by experiment — scavenges of ~3 ms promoting ~3 MB each, old
 * space filling to a Mark-Compact about once a second, and ~25 % fewer
 * claims answered. With 32 MiB, 5 of 5 processes ran in the fast mode
 * (docs/PERFORMANCE.md, "Key server"). The cost is at most 32 MiB more young
 * generation per process. Standalone brokers do not get it: the broker
 * benchmark read the same with and without.
 */
export const KEYSERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];
