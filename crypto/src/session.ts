/**
 * Pairwise device-to-device sessions (PROTOCOL.md §6): the public surface of
 * `session/`. The envelope bodies live in `session/envelope.ts`, the Double
 * Ratchet session object in `session/session.ts` and the PQXDH handshake that
 * creates one in `session/handshake.ts`.
 */
export * from './session/session.ts';
