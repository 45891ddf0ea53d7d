/**
 * Voice notes and `played` receipts (issue 18, PROTOCOL.md §12 "Voice notes"), against the real
 * key server and broker: a voice note travels with its length and waveform inside the encrypted
 * `file` payload; the recipient playing it turns the sender's record to `played`. A `played`
 * receipt from a user the note was never sent to, or for a message that is not a voice note, is
 * ignored ([RCPT-PLAYED]) — checked after a later message from the same sender arrived, so the
 * forged receipt has been processed by then.
 */
import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../src/store/types.ts';
import { uname, until } from './support/server.ts';
import { serverFixture } from './support/fixture.ts';

const { pool } = serverFixture();

/** A registered, started engine and the messages it showed. */
async function person(prefix: string) {
  const client = pool.client();
  const name = uname(prefix);
  await client.register(name, 'correct horse battery');
  await client.start();
  const shown: MessageRecord[] = [];
  client.on('message', (m) => shown.push(m));
  return { client, name, shown };
}

/** Opus-in-Ogg bytes as far as the sniffers care: the `OggS` capture pattern, then filler. */
const OGG = Uint8Array.from({ length: 2048 }, (_, i) => [0x4f, 0x67, 0x67, 0x53][i] ?? i % 256);
const VOICE = {
  durationMs: 3400,
  waveform: Buffer.from(Uint8Array.from({ length: 48 }, (_, i) => (i * 37) % 256)).toString(
    'base64url',
  ),
};

describe('voice notes', () => {
  it('carries length and waveform, and only a recipient playing it marks it played', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const eve = await person('eve');
    const bobAddr = `${bob.name}:${bob.client.account!.deviceId}`;

    // Alice and Eve know each other (Eve's receipts are not held as a stranger's).
    await eve.client.sendText(alice.name, 'hi alice');
    await until(() => alice.shown.some((m) => m.body.text === 'hi alice'), 'alice has eve');

    const note = await alice.client.sendFile(bob.name, OGG, {
      name: 'voice-note.ogg',
      mime: 'audio/ogg',
      voice: VOICE,
    });
    const text = await alice.client.sendText(bob.name, 'and a text');
    await until(() => bob.shown.some((m) => m.id === text.id), 'bob has both');
    const got = bob.shown.find((m) => m.id === note.id)!;
    expect(got.body.voice).toEqual(VOICE);
    expect(got.body.mime).toBe('audio/ogg');
    expect(await bob.client.downloadFile(got)).toEqual(OGG);
    const status = async (id: string): Promise<MessageRecord['status']> =>
      (await alice.client.store.getMessage(id))!.status;
    await until(async () => (await status(note.id))[bobAddr] === 'delivered', 'delivered');

    // Eve, who never got the note, reports it played; Bob reports his text "played".
    await eve.client.send(alice.name, { kind: 'receipt', status: 'played', ids: [note.id] });
    await eve.client.sendText(alice.name, 'eve marker');
    await bob.client.send(alice.name, { kind: 'receipt', status: 'played', ids: [text.id] });
    await bob.client.sendText(alice.name, 'bob marker');
    await until(
      () => ['eve marker', 'bob marker'].every((t) => alice.shown.some((m) => m.body.text === t)),
      'alice has both markers',
    );
    expect(await status(note.id)).toEqual({ [bobAddr]: 'delivered' });
    expect((await status(text.id))[bobAddr]).not.toBe('played');

    // Playing a text is nothing; playing the note records it at Bob and reaches Alice.
    await bob.client.markPlayed(text.id);
    await bob.client.markPlayed(note.id);
    expect((await bob.client.store.getMessage(note.id))!.status).toEqual({ [bobAddr]: 'played' });
    expect((await bob.client.store.getMessage(text.id))!.status).toEqual({});
    await until(async () => (await status(note.id))[bobAddr] === 'played', 'played at alice');
    expect((await status(text.id))[bobAddr]).not.toBe('played');
  });
});
