/**
 * The signed, hash-chained group membership log (PROTOCOL.md §8.1): the public
 * surface of `membership/`.
 */
export * from './membership/record.ts';
