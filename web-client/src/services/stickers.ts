/**
 * The built-in sticker pack: a few drawings made in the page with a canvas (no network, no
 * image files to fetch) and sent as ordinary PNG images — encrypted like any photo, shown by
 * every client that shows images, with the usual sender-made thumbnail.
 */
import { uiText } from './ui-strings.ts';

/** Side of a sticker image, in pixels. */
export const STICKER_SIDE = 256;

/** One sticker of the pack. */
export interface Sticker {
  id: string;
  /** What the sticker shows (its accessible name). */
  label: string;
  /** Draw on a {@link STICKER_SIDE} square. */
  draw(g: CanvasRenderingContext2D): void;
}

const S = STICKER_SIDE;

function star(g: CanvasRenderingContext2D, cx: number, cy: number, outer: number, inner: number) {
  g.beginPath();
  for (let i = 0; i < 10; i++) {
    const r = i % 2 === 0 ? outer : inner;
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    g.lineTo(cx + r * Math.cos(a), cy + r * Math.sin(a));
  }
  g.closePath();
}

function bubble(g: CanvasRenderingContext2D, text: string, fill: string): void {
  g.fillStyle = fill;
  g.beginPath();
  g.roundRect(16, 48, S - 32, 130, 40);
  g.moveTo(70, 170);
  g.lineTo(56, 228);
  g.lineTo(120, 176);
  g.fill();
  g.fillStyle = '#fff';
  g.font = `bold 64px system-ui, sans-serif`;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(text, S / 2, 115, S - 60);
}

/** The pack, in the order the picker shows it. */
export const STICKERS: readonly Sticker[] = [
  {
    id: 'smile',
    get label() {
      return uiText('stickers.name.smile');
    },
    draw(g) {
      g.fillStyle = '#ffcc33';
      g.beginPath();
      g.arc(S / 2, S / 2, 110, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#5a3b00';
      for (const x of [92, 164]) {
        g.beginPath();
        g.ellipse(x, 100, 12, 20, 0, 0, Math.PI * 2);
        g.fill();
      }
      g.lineWidth = 14;
      g.lineCap = 'round';
      g.strokeStyle = '#5a3b00';
      g.beginPath();
      g.arc(S / 2, 140, 56, 0.15 * Math.PI, 0.85 * Math.PI);
      g.stroke();
    },
  },
  {
    id: 'heart',
    get label() {
      return uiText('stickers.name.heart');
    },
    draw(g) {
      g.fillStyle = '#e8335a';
      g.beginPath();
      g.moveTo(128, 224);
      g.bezierCurveTo(20, 150, 10, 60, 72, 44);
      g.bezierCurveTo(104, 36, 122, 56, 128, 76);
      g.bezierCurveTo(134, 56, 152, 36, 184, 44);
      g.bezierCurveTo(246, 60, 236, 150, 128, 224);
      g.fill();
    },
  },
  {
    id: 'star',
    get label() {
      return uiText('stickers.name.star');
    },
    draw(g) {
      g.fillStyle = '#ffb400';
      star(g, S / 2, S / 2 + 8, 118, 50);
      g.fill();
    },
  },
  {
    id: 'check',
    get label() {
      return uiText('stickers.name.check');
    },
    draw(g) {
      g.fillStyle = '#22a559';
      g.beginPath();
      g.arc(S / 2, S / 2, 110, 0, Math.PI * 2);
      g.fill();
      g.strokeStyle = '#fff';
      g.lineWidth = 26;
      g.lineCap = 'round';
      g.lineJoin = 'round';
      g.beginPath();
      g.moveTo(74, 132);
      g.lineTo(112, 170);
      g.lineTo(186, 92);
      g.stroke();
    },
  },
  { id: 'thanks', label: 'Thanks!', draw: (g) => bubble(g, 'Thanks!', '#3d7cf2') },
  { id: 'lol', label: 'LOL', draw: (g) => bubble(g, 'LOL', '#9b4dde') },
];

/** Draw `sticker` on a fresh canvas. */
function canvasOf(sticker: Sticker): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = S;
  c.height = S;
  const g = c.getContext('2d');
  if (g === null) throw new Error(uiText('stickers.noCanvas'));
  sticker.draw(g);
  return c;
}

/** A preview of `sticker` as a `data:` URL (for the picker). */
export function stickerPreview(sticker: Sticker): string {
  return canvasOf(sticker).toDataURL('image/png');
}

/** `sticker` as a PNG file to send. */
export function stickerFile(sticker: Sticker): Promise<File> {
  return new Promise((resolve, reject) =>
    canvasOf(sticker).toBlob((blob) => {
      if (blob === null) reject(new Error(uiText('stickers.noCanvas')));
      else resolve(new File([blob], `sticker-${sticker.id}.png`, { type: 'image/png' }));
    }, 'image/png'),
  );
}
