/**
 * Drag-and-drop of files onto the message list: while files are dragged over it the host shows
 * a drop hint (`dragging`), and dropped files go to `drop`. Only when the messenger can send
 * files. Non-visual: the host binds the three handlers to the element files are dropped on.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** Drag state and handlers of one drop target. */
export class FileDrop implements ReactiveController {
  /** Files are being dragged over the target. */
  dragging = false;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly options: { enabled: () => boolean; drop: (files: File[]) => void },
  ) {
    host.addController(this);
  }

  /** A drag that was over the host when it left the page is over. */
  hostDisconnected(): void {
    this.dragging = false;
  }

  private setDragging(on: boolean): void {
    if (on === this.dragging) return;
    this.dragging = on;
    this.host.requestUpdate();
  }

  readonly onDragOver = (e: DragEvent): void => {
    if (!this.options.enabled()) return;
    if (e.dataTransfer?.types.includes('Files') !== true) return;
    e.preventDefault();
    this.setDragging(true);
  };

  readonly onDragLeave = (): void => this.setDragging(false);

  readonly onDrop = (e: DragEvent): void => {
    this.setDragging(false);
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length === 0) return;
    e.preventDefault();
    this.options.drop(files);
  };
}
