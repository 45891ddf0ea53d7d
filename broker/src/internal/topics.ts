/**
 * The topic contract, re-exported from `@sotto/crypto`'s `topics.ts` (the only
 * place topic strings are defined). Imported through this one file so the
 * broker does not load the rest of the protocol library (libsodium) just to
 * read topic names.
 */
export {
  parseTopic,
  presenceTopic,
  groupTopic,
  USERNAME_PATTERN,
  DEVICE_ID_PATTERN,
  GROUP_ID_PATTERN,
  THING_PATTERN,
  type ParsedTopic,
} from '../../../crypto/src/topics.ts';
