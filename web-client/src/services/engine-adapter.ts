/**
 * {@link MessengerService} on the real `@sotto/client` engine. Loaded as a lazy chunk: it pulls
 * in libsodium, mqtt.js and the engine.
 */
import { MessengerError, type MessengerService } from './messenger.ts';

/** Options of {@link createMessenger}. */
export interface MessengerOptions {
  /** Origin of the key server (`/v1`) and broker (`/mqtt`). */
  baseUrl: string;
}

/** Create the messenger for this page. */
export function createMessenger(_options: MessengerOptions): MessengerService {
  throw new MessengerError('UNSUPPORTED', 'The messaging engine is not available in this build.');
}
