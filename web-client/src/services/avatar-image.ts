/**
 * Profile pictures as the page makes them (docs/WEB.md "Profiles"): the chosen image decoded,
 * cropped to a centred square (smaller with `zoom`), drawn on a canvas at
 * {@link AVATAR_SIDE} pixels and encoded as WebP (JPEG where the browser cannot encode WebP),
 * lowering the quality until it fits the payload's cap (PROTOCOL.md §12 "Profiles"). The
 * source image never leaves the page; only this re-encoded square is uploaded, encrypted.
 */
import { MAX_AVATAR_BYTES } from '@sotto/crypto';
import type { AvatarUpload } from './profiles.ts';

/** Side of the picture sent, in pixels. */
export const AVATAR_SIDE = 256;

/** The square of a `width`×`height` image shown at `zoom` (1 = the largest centred square). */
export function cropSquare(
  width: number,
  height: number,
  zoom: number,
): { x: number; y: number; side: number } {
  const side = Math.max(1, Math.round(Math.min(width, height) / Math.max(1, zoom)));
  return { x: Math.round((width - side) / 2), y: Math.round((height - side) / 2), side };
}

function encode(c: HTMLCanvasElement, type: string, quality: number): Promise<Blob | null> {
  return new Promise((resolve) => c.toBlob(resolve, type, quality));
}

/**
 * Draw the crop of `image` on `canvas` at {@link AVATAR_SIDE} pixels (also the preview) and
 * encode it; null when the browser cannot make a picture small enough.
 */
export async function renderAvatar(
  image: ImageBitmap,
  zoom: number,
  canvas: HTMLCanvasElement,
): Promise<AvatarUpload | null> {
  const { x, y, side } = cropSquare(image.width, image.height, zoom);
  canvas.width = AVATAR_SIDE;
  canvas.height = AVATAR_SIDE;
  const g = canvas.getContext('2d');
  if (g === null) return null;
  g.drawImage(image, x, y, side, side, 0, 0, AVATAR_SIDE, AVATAR_SIDE);
  for (const quality of [0.85, 0.7, 0.5, 0.3]) {
    let blob = await encode(canvas, 'image/webp', quality);
    if (blob?.type !== 'image/webp') blob = await encode(canvas, 'image/jpeg', quality);
    if (blob === null || (blob.type !== 'image/webp' && blob.type !== 'image/jpeg')) return null;
    if (blob.size <= MAX_AVATAR_BYTES) {
      return {
        bytes: new Uint8Array(await blob.arrayBuffer()),
        mime: blob.type,
        width: AVATAR_SIDE,
        height: AVATAR_SIDE,
      };
    }
  }
  return null;
}
