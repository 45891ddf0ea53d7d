/**
 * Sender Keys for groups (PROTOCOL.md §8.2–8.5): the public surface of
 * `senderkeys/`.
 */
export * from './senderkeys/sender-key.ts';
