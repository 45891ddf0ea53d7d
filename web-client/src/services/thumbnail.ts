/**
 * Sender-made image thumbnails (PROTOCOL.md §12 `file.thumbnail`): a small WebP or JPEG drawn
 * on a canvas in the page before an image (or, from its first frame, a video) is sent, carried inside the encrypted payload so the
 * receiver shows it at once, then replaced by the full image once it is downloaded and
 * decrypted. The limits come from the payload codec, which validates what is sent and received.
 */
import {
  MAX_THUMBNAIL_BYTES,
  MAX_THUMBNAIL_SIDE,
  THUMBNAIL_MIMES,
  type FileThumbnail,
} from '@sotto/client/payload';

/** What a thumbnail aims at; larger attempts are retried smaller, up to the codec's cap. */
export const THUMBNAIL_TARGET_BYTES = 8 * 1024;

/** A decoded image to draw from. */
export interface DecodedImage {
  width: number;
  height: number;
  source: CanvasImageSource;
  close(): void;
}

/** The part of a canvas thumbnails need. */
export interface ThumbnailCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): Pick<CanvasRenderingContext2D, 'drawImage'> | null;
  toBlob(done: (blob: Blob | null) => void, type: string, quality: number): void;
}

/** Image decoding and canvases, injected so the logic runs without a real canvas in tests. */
export interface ThumbnailDeps {
  decode(file: Blob): Promise<DecodedImage>;
  canvas(): ThumbnailCanvas;
}

/** How long a video may take to show its first frame before it is sent without a thumbnail. */
export const VIDEO_FRAME_TIMEOUT_MS = 5000;

/**
 * The first frame of a video file, from a muted, detached `<video>` on an object URL of the
 * file (typed `video/*` only while the sender's own page decodes it; never a received file).
 */
function firstFrame(file: Blob): Promise<DecodedImage> {
  const url = URL.createObjectURL(file);
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.preload = 'auto';
  const close = (): void => {
    video.removeAttribute('src');
    video.load();
    URL.revokeObjectURL(url);
  };
  return new Promise<DecodedImage>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('no video frame')), VIDEO_FRAME_TIMEOUT_MS);
    const fail = (err: unknown): void => {
      clearTimeout(timer);
      close();
      reject(err instanceof Error ? err : new Error('cannot decode the video'));
    };
    video.addEventListener('error', () => fail(video.error), { once: true });
    // A frame is decoded once `seeked` fires after the first seek (loadeddata alone is not
    // enough in every browser for drawImage to see pixels).
    video.addEventListener(
      'loadeddata',
      () => {
        video.addEventListener(
          'seeked',
          () => {
            clearTimeout(timer);
            resolve({
              width: video.videoWidth,
              height: video.videoHeight,
              source: video,
              close,
            });
          },
          { once: true },
        );
        video.currentTime = Math.min(0.1, Number.isFinite(video.duration) ? video.duration / 2 : 0);
      },
      { once: true },
    );
    video.src = url;
  });
}

const browserDeps: ThumbnailDeps = {
  async decode(file) {
    if (file.type.startsWith('video/')) return firstFrame(file);
    const bmp = await createImageBitmap(file);
    return { width: bmp.width, height: bmp.height, source: bmp, close: () => bmp.close() };
  },
  canvas: () => document.createElement('canvas'),
};

/** Sides and qualities tried in order until one fits {@link THUMBNAIL_TARGET_BYTES}. */
const ATTEMPTS: readonly { side: number; quality: number }[] = [
  { side: MAX_THUMBNAIL_SIDE, quality: 0.7 },
  { side: MAX_THUMBNAIL_SIDE, quality: 0.5 },
  { side: 200, quality: 0.6 },
  { side: 120, quality: 0.6 },
  { side: 64, quality: 0.5 },
];

function base64url(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function encode(c: ThumbnailCanvas, type: string, quality: number): Promise<Blob | null> {
  return new Promise((resolve) => c.toBlob(resolve, type, quality));
}

/**
 * A thumbnail of an image file or of a video's first frame, or `undefined` when the file is not
 * one the page can decode (the message is then sent without one). WebP is preferred; a browser
 * that cannot encode WebP hands back PNG, and JPEG is used instead.
 */
export async function makeThumbnail(
  file: Blob,
  deps: ThumbnailDeps = browserDeps,
): Promise<FileThumbnail | undefined> {
  if (!file.type.startsWith('image/') && !file.type.startsWith('video/')) return undefined;
  let image: DecodedImage;
  try {
    image = await deps.decode(file);
  } catch {
    return undefined;
  }
  try {
    if (image.width < 1 || image.height < 1) return undefined;
    let best: { blob: Blob; width: number; height: number } | undefined;
    for (const { side, quality } of ATTEMPTS) {
      const scale = Math.min(1, side / Math.max(image.width, image.height));
      const c = deps.canvas();
      c.width = Math.max(1, Math.round(image.width * scale));
      c.height = Math.max(1, Math.round(image.height * scale));
      const g = c.getContext('2d');
      if (g === null) return undefined;
      g.drawImage(image.source, 0, 0, c.width, c.height);
      let blob = await encode(c, 'image/webp', quality);
      if (blob?.type !== 'image/webp') blob = await encode(c, 'image/jpeg', quality);
      if (blob === null || !(THUMBNAIL_MIMES as readonly string[]).includes(blob.type)) continue;
      if (blob.size <= MAX_THUMBNAIL_BYTES && (best === undefined || blob.size < best.blob.size)) {
        best = { blob, width: c.width, height: c.height };
      }
      if (blob.size <= THUMBNAIL_TARGET_BYTES) break;
    }
    if (best === undefined) return undefined;
    return {
      mime: best.blob.type as FileThumbnail['mime'],
      width: best.width,
      height: best.height,
      data: base64url(new Uint8Array(await best.blob.arrayBuffer())),
    };
  } catch {
    return undefined;
  } finally {
    image.close();
  }
}

/**
 * The `data:` URL of a stored `file` message body's thumbnail, or `undefined`. The body came
 * through the payload decoder, which checked the format; this re-checks the shape only.
 */
export function thumbnailOf(
  body: Record<string, unknown>,
): { url: string; width: number; height: number } | undefined {
  const t = body.thumbnail;
  if (typeof t !== 'object' || t === null) return undefined;
  const { mime, width, height, data } = t as Record<string, unknown>;
  if (
    !(THUMBNAIL_MIMES as readonly unknown[]).includes(mime) ||
    typeof width !== 'number' ||
    typeof height !== 'number' ||
    typeof data !== 'string'
  ) {
    return undefined;
  }
  const b64 = data.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  return { url: `data:${String(mime)};base64,${padded}`, width, height };
}
