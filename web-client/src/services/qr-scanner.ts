/**
 * Camera QR scanning (jsQR on the video stream), shared by `<contact-info>` (the other person's
 * safety-number code) and `<link-device>` (a new device's link code). One scanner per element:
 * `open()` asks for the camera, `scan()` shows it in a `<video>` and reports the first code,
 * `stop()` releases the camera (also safe when nothing is open).
 */
import jsQR from 'jsqr';

export class QrScanner {
  #stream: MediaStream | undefined;
  #raf = 0;

  /** Ask for the (rear) camera; false when there is none or the user refused. */
  async open(): Promise<boolean> {
    try {
      this.#stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: 'environment' },
      });
      return true;
    } catch {
      return false;
    }
  }

  /** Show the opened camera in `video`; the first QR code found stops the scan and goes to `onCode`. */
  async scan(video: HTMLVideoElement, onCode: (data: string) => void): Promise<void> {
    const stream = this.#stream;
    if (stream === undefined) return;
    video.srcObject = stream;
    await video.play();
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const tick = (): void => {
      if (this.#stream !== stream || ctx === null) return;
      if (video.readyState >= 2 && video.videoWidth > 0) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0);
        const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
        const found = jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
        if (found !== null && found.data !== '') {
          this.stop();
          onCode(found.data);
          return;
        }
      }
      this.#raf = requestAnimationFrame(tick);
    };
    this.#raf = requestAnimationFrame(tick);
  }

  /** Stop scanning and release the camera. */
  stop(): void {
    cancelAnimationFrame(this.#raf);
    for (const t of this.#stream?.getTracks() ?? []) t.stop();
    this.#stream = undefined;
  }
}
