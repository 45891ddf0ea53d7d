/**
 * Sender-made image thumbnails, removing admin rights, and the optional notification sound.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingMessenger, freshStore, message, until } from './support/fixtures.ts';
import {
  THUMBNAIL_TARGET_BYTES,
  makeThumbnail,
  thumbnailOf,
  type ThumbnailCanvas,
  type ThumbnailDeps,
} from '../src/services/thumbnail.ts';
import { TONE_GAP_MS, createTonePlayer, type ToneContext } from '../src/services/sound.ts';
import { ChatSession } from '../src/services/session.ts';
import type { GroupInfo } from '../src/services/messenger.ts';
import { encodePayload, decodePayload, MAX_THUMBNAIL_BYTES } from '../../client/src/payload.ts';
import '../src/components/message-bubble.ts';
import '../src/components/group-settings.ts';
import '../src/components/settings-view.ts';

const shadow = (el: Element): ShadowRoot => {
  if (el.shadowRoot === null) throw new Error('no shadow root');
  return el.shadowRoot;
};

afterEach(() => {
  document.body.innerHTML = '';
});

const WEBP_HEAD = [...'RIFF\x01\x00\x00\x00WEBPVP8 '].map((c) => c.charCodeAt(0));
const JPEG_HEAD = [0xff, 0xd8, 0xff, 0xe0];

/**
 * Canvas stand-in: encodes to a blob whose size follows the pixel count and quality, with the
 * format's real signature; `webp: false` behaves like a browser without a WebP encoder (PNG).
 */
function fakeDeps(
  width: number,
  height: number,
  options: { webp?: boolean; bytesPerPixel?: number; failDecode?: boolean } = {},
): ThumbnailDeps & { drawn: number[][]; closed: boolean } {
  const drawn: number[][] = [];
  const deps = {
    drawn,
    closed: false,
    async decode() {
      if (options.failDecode === true) throw new Error('not an image');
      return { width, height, source: {} as CanvasImageSource, close: () => (deps.closed = true) };
    },
    canvas(): ThumbnailCanvas {
      const c: ThumbnailCanvas = {
        width: 0,
        height: 0,
        getContext: () => ({
          drawImage: ((_s: unknown, x: number, y: number, w: number, h: number) => {
            drawn.push([x, y, w, h]);
          }) as unknown as CanvasRenderingContext2D['drawImage'],
        }),
        toBlob(done, type, quality) {
          const fmt = type === 'image/webp' && options.webp === false ? 'image/png' : type;
          const head =
            fmt === 'image/webp'
              ? WEBP_HEAD
              : fmt === 'image/jpeg'
                ? JPEG_HEAD
                : [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
          const size = Math.max(
            head.length,
            Math.round(c.width * c.height * (options.bytesPerPixel ?? 0.05) * quality),
          );
          const bytes = new Uint8Array(size);
          bytes.set(head);
          done(new Blob([bytes], { type: fmt }));
        },
      };
      return c;
    },
  };
  return deps;
}

const image = (type = 'image/jpeg') => new Blob([new Uint8Array(10)], { type });
const base = {
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  ts: 1,
  kind: 'file' as const,
  blobId: 'b1',
  name: 'photo.jpg',
  mime: 'image/jpeg',
  size: 10,
  key: 'AAAA',
  hash: 'BBBB',
};

describe('sender-made thumbnails', () => {
  it('scales an image to at most 320 px as WebP that the payload codec accepts', async () => {
    const deps = fakeDeps(4000, 3000);
    const t = await makeThumbnail(image(), deps);
    expect(t).toMatchObject({ mime: 'image/webp', width: 320, height: 240 });
    expect(deps.drawn[0]).toEqual([0, 0, 320, 240]);
    expect(deps.closed).toBe(true);
    const decoded = decodePayload(encodePayload({ ...base, thumbnail: t! }));
    expect(decoded).toMatchObject({ thumbnail: t });
  });

  it('keeps small images at their size and uses JPEG where WebP cannot be encoded', async () => {
    const t = await makeThumbnail(image('image/png'), fakeDeps(16, 9, { webp: false }));
    expect(t).toMatchObject({ mime: 'image/jpeg', width: 16, height: 9 });
    expect(() => encodePayload({ ...base, thumbnail: t! })).not.toThrow();
  });

  it('steps down in size and quality until the thumbnail fits', async () => {
    // 320×320 at q 0.7 is ~36 KB here: too big; the first attempt under 8 KiB wins.
    const t = await makeThumbnail(image(), fakeDeps(1000, 1000, { bytesPerPixel: 0.5 }));
    expect(t).toBeDefined();
    const bytes = Math.floor((t!.data.length * 3) / 4);
    expect(bytes).toBeLessThanOrEqual(THUMBNAIL_TARGET_BYTES);
    expect(t!.width).toBeLessThan(320);
    // Nothing fits the codec's cap: no thumbnail rather than an invalid payload.
    const none = await makeThumbnail(image(), fakeDeps(1000, 1000, { bytesPerPixel: 100 }));
    expect(none).toBeUndefined();
    expect(MAX_THUMBNAIL_BYTES).toBeGreaterThan(THUMBNAIL_TARGET_BYTES);
  });

  it('makes none for other files or images the browser cannot decode', async () => {
    expect(await makeThumbnail(new Blob(['x'], { type: 'text/plain' }), fakeDeps(10, 10))).toBe(
      undefined,
    );
    expect(await makeThumbnail(image(), fakeDeps(10, 10, { failDecode: true }))).toBe(undefined);
  });

  it('shows the thumbnail blurred at once, then the full image in its place', async () => {
    const thumbnail = { mime: 'image/webp', width: 40, height: 30, data: 'UklGRgEAAABXRUJQ' };
    expect(thumbnailOf({ thumbnail })?.url).toBe('data:image/webp;base64,UklGRgEAAABXRUJQ');
    expect(thumbnailOf({ thumbnail: { ...thumbnail, mime: 'text/html' } })).toBeUndefined();
    const el = document.createElement('message-bubble');
    el.message = message({
      id: 'f1',
      kind: 'file',
      body: { name: 'photo.webp', mime: 'image/jpeg', size: 5_000_000, thumbnail },
    });
    document.body.append(el);
    await el.updateComplete;
    let img = shadow(el).querySelector('img.image');
    expect(img?.getAttribute('src')).toBe('data:image/webp;base64,UklGRgEAAABXRUJQ');
    expect(img?.getAttribute('data-full')).toBe('no');
    expect(img?.getAttribute('width')).toBe('40');
    el.imageUrl = 'blob:full-image';
    await el.updateComplete;
    img = shadow(el).querySelector('img.image');
    expect(img?.getAttribute('src')).toBe('blob:full-image');
    expect(img?.getAttribute('data-full')).toBe('yes');
    expect(img?.hasAttribute('width')).toBe(false);
  });

  it('shows an image without a thumbnail as a file card until it is downloaded', async () => {
    const el = document.createElement('message-bubble');
    el.message = message({
      id: 'f2',
      kind: 'file',
      body: { name: 'old.png', mime: 'image/png', size: 100 },
    });
    document.body.append(el);
    await el.updateComplete;
    expect(shadow(el).querySelector('img')).toBeNull();
    expect(shadow(el).textContent).toContain('old.png');
  });
});

function session(tone: () => void = () => undefined) {
  const messenger = new RecordingMessenger(freshStore());
  const s = new ChatSession(messenger, { username: 'alice', deviceId: 'dev1' }, tone);
  return { messenger, s };
}

describe('bubble text', () => {
  it('is exactly the message text, with and without a mention (no blank line or indent)', async () => {
    for (const body of [
      { text: 'lunch at noon?' },
      { text: '@carol lunch at noon?', mentions: [{ start: 0, length: 6, user: 'carol' }] },
    ]) {
      const el = document.createElement('message-bubble');
      el.message = message({ id: `t-${body.text.length}`, kind: 'text', body });
      document.body.append(el);
      await el.updateComplete;
      // `.text` keeps white space (pre-wrap): template whitespace would show.
      expect(shadow(el).querySelector('.text')?.textContent).toBe(body.text);
    }
  });
});

describe('<group-settings> admin rights', () => {
  it('offers Remove admin for other admins and Make admin for members, to admins only', async () => {
    const { messenger, s } = session();
    const info: GroupInfo = {
      groupId: 'g1',
      name: 'Team',
      members: [
        { username: 'alice', admin: true, kind: 'user' },
        { username: 'bob', admin: true, kind: 'user' },
        { username: 'carol', admin: false, kind: 'user' },
      ],
    };
    (messenger as { groupInfo: (id: string) => Promise<GroupInfo> }).groupInfo = async () => info;
    const el = document.createElement('group-settings');
    el.session = s;
    el.groupId = 'g1';
    document.body.append(el);
    const root = shadow(el);
    await until(() => root.querySelector('[data-member=bob]') !== null);
    const button = (label: string) =>
      root.querySelector<HTMLButtonElement>(`button[aria-label="${label}"]`);
    expect(root.querySelector('[data-member=alice] button')).toBeNull();
    expect(button('Make admin: carol')?.textContent?.trim()).toBe('Make admin');
    expect(button('Remove admin: bob')?.textContent?.trim()).toBe('Remove admin');
    button('Remove admin: bob')!.click();
    await until(() => messenger.calls.some((c) => c.method === 'setAdmin'));
    expect(messenger.calls.find((c) => c.method === 'setAdmin')?.args).toEqual([
      'g1',
      'bob',
      false,
    ]);

    // A member who is not an admin sees no admin buttons.
    info.members[0]!.admin = false;
    el.groupId = 'g2';
    await until(() => root.querySelector('button[aria-label="Make admin: carol"]') === null);
    expect(button('Remove admin: bob')).toBeNull();
    s.dispose();
  });
});

/** Fake AudioContext recording the notes it is asked to play. */
function fakeAudio(): { ctx: ToneContext; notes: number[]; started: number } {
  const rec = { notes: [] as number[], started: 0 };
  const param = () => ({
    setValueAtTime: (v: number) => v,
    linearRampToValueAtTime: () => undefined,
    exponentialRampToValueAtTime: () => undefined,
  });
  const node = () => ({ connect: (n: unknown) => n });
  const ctx = {
    currentTime: 0,
    state: 'running',
    destination: node(),
    resume: async () => undefined,
    createOscillator: () => ({
      ...node(),
      type: 'sine',
      frequency: { ...param(), setValueAtTime: (hz: number) => rec.notes.push(hz) },
      start: () => rec.started++,
      stop: () => undefined,
    }),
    createGain: () => ({ ...node(), gain: param() }),
  } as unknown as ToneContext;
  return {
    ctx,
    get notes() {
      return rec.notes;
    },
    get started() {
      return rec.started;
    },
  };
}

describe('notification sound', () => {
  it('plays a short two-note chime, once per burst', () => {
    const audio = fakeAudio();
    let t = 10_000;
    const play = createTonePlayer(
      () => audio.ctx,
      () => t,
    );
    play();
    expect(audio.notes).toEqual([880, 1320]);
    expect(audio.started).toBe(2);
    for (let i = 0; i < 100; i++) play();
    expect(audio.started).toBe(2);
    t += TONE_GAP_MS;
    play();
    expect(audio.started).toBe(4);
  });

  it('stays silent where there is no WebAudio', () => {
    expect(() => createTonePlayer(() => null)()).not.toThrow();
  });

  it('is off by default, rings for other conversations once on, and is saved', async () => {
    let rings = 0;
    const { messenger, s } = session(() => rings++);
    const incoming = (conversationId: string) =>
      messenger.emit({
        type: 'history',
        conversationIds: [conversationId],
        incoming: [{ conversationId, id: `x${rings}`, sender: 'bob', preview: 'hi', at: 1 }],
      });
    incoming('dm:bob');
    expect(rings).toBe(0);

    const el = document.createElement('settings-view');
    el.session = s;
    document.body.append(el);
    // The Notifications section is its own component inside Settings.
    const soundBox = () => {
      const section = shadow(el).querySelector('notification-settings');
      return section ? shadow(section).querySelector<HTMLInputElement>('input[name=sound]') : null;
    };
    const box = await (async () => {
      await until(() => soundBox() !== null);
      return soundBox()!;
    })();
    expect(box.checked).toBe(false);
    box.click();
    await until(() => s.sound);
    expect(rings).toBe(1); // a sample when it is turned on
    for (let i = 0; i < 100 && !(await s.history.setting('sound', false)); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await s.history.setting('sound', false)).toBe(true);

    incoming('dm:carol');
    expect(rings).toBe(2);
    // Not for the conversation on screen while the page has focus.
    s.active = 'dm:bob';
    const hasFocus = document.hasFocus.bind(document);
    document.hasFocus = () => true;
    try {
      incoming('dm:bob');
      expect(rings).toBe(2);
    } finally {
      document.hasFocus = hasFocus;
    }

    // A new session on the same store starts with the saved choice.
    const again = new ChatSession(
      messenger,
      { username: 'alice', deviceId: 'dev1' },
      () => rings++,
    );
    await until(() => again.sound);
    again.dispose();
    s.dispose();
  });
});
