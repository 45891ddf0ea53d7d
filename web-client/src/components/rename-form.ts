/**
 * The inline form that renames something in a list (a device, a passkey): the name field with
 * its accessible label, Save and Cancel. A template, not an element, so it stays in the list's
 * shadow root and the list's styles apply.
 */
import { html, type TemplateResult } from 'lit';
import { uiText } from '../services/ui-strings.ts';

export function renameForm(opts: {
  /** What is renamed, as `data-rename-form`'s value (tests and styles find the form by it). */
  kind: string;
  current: string;
  /** The field's accessible name, naming what is renamed. */
  label: string;
  busy: boolean;
  /** Called with the new name, trimmed. */
  save: (name: string) => void;
  cancel: () => void;
}): TemplateResult {
  const submit = (e: Event): void => {
    e.preventDefault();
    const name = new FormData(e.target as HTMLFormElement).get('name');
    opts.save(typeof name === 'string' ? name.trim() : '');
  };
  return html`<form data-rename-form=${opts.kind} @submit=${submit}>
    <input name="name" .value=${opts.current} maxlength="64" required aria-label=${opts.label} />
    <button type="submit" ?disabled=${opts.busy}>${uiText('devices.save')}</button>
    <button type="button" @click=${opts.cancel}>${uiText('devices.cancel')}</button>
  </form>`;
}
