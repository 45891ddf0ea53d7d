/**
 * The browser's side of passkeys (issue 19; docs/WEB.md "Passkeys"): the WebAuthn ceremonies
 * through `@simplewebauthn/browser` on the options the key server sends, with what can go wrong
 * in them (no WebAuthn, the user cancelled or the request timed out, the passkey is already
 * registered) turned into {@link MessengerError}s with a sentence from `ui-strings.ts`.
 */
import {
  WebAuthnError,
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { MessengerError } from './messenger.ts';
import { uiText } from './ui-strings.ts';

/** Whether this browser can use passkeys at all (the buttons say why not when it cannot). */
export function passkeysSupported(): boolean {
  return browserSupportsWebAuthn();
}

/** A ceremony's failure as the views show it. */
export function passkeyError(err: unknown): unknown {
  if (err instanceof MessengerError) return err;
  const name = err instanceof WebAuthnError ? (err.cause as Error | undefined)?.name : undefined;
  if (err instanceof WebAuthnError && err.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED')
    return new MessengerError('PASSKEY_INVALID', uiText('passkey.already'), { cause: err });
  // NotAllowedError: the user closed the prompt, it timed out, or no passkey matched.
  if (
    (err instanceof WebAuthnError &&
      (err.code === 'ERROR_CEREMONY_ABORTED' || name === 'NotAllowedError')) ||
    (err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'AbortError'))
  )
    return new MessengerError('PASSKEY_CANCELLED', uiText('passkey.cancelled'), { cause: err });
  if (err instanceof WebAuthnError)
    return new MessengerError('PASSKEY_INVALID', uiText('passkey.failed', { why: err.message }), {
      cause: err,
    });
  return err;
}

function supported(): void {
  if (!passkeysSupported()) throw new MessengerError('UNSUPPORTED', uiText('passkey.unsupported'));
}

/** Create a passkey on the options of `POST /v1/me/passkeys/options`. */
export async function createPasskey(options: Record<string, unknown>): Promise<unknown> {
  supported();
  try {
    return await startRegistration({
      optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON,
    });
  } catch (err) {
    throw passkeyError(err);
  }
}

/** Sign with a passkey on the options of a sign-in or step-up ceremony. */
export async function assertPasskey(options: Record<string, unknown>): Promise<unknown> {
  supported();
  try {
    return await startAuthentication({
      optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON,
    });
  } catch (err) {
    throw passkeyError(err);
  }
}
