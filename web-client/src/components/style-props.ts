/**
 * `style=${styleProps({ color: '#c00' })}`: sets CSS properties through the CSSOM
 * (`element.style.setProperty`) on every render, the first included. The Content-Security-Policy
 * (`style-src 'self'`, scripts/web-headers.ts) refuses style attributes but not the CSSOM; Lit's
 * own `styleMap` writes its first value as an attribute, which the policy would refuse.
 */
import { noChange } from 'lit';
import {
  Directive,
  directive,
  PartType,
  type AttributePart,
  type PartInfo,
} from 'lit/directive.js';

/** CSS properties (dash-case names) and their values. */
export type StyleProps = Readonly<Record<string, string>>;

class StylePropsDirective extends Directive {
  private previous = new Set<string>();

  constructor(partInfo: PartInfo) {
    super(partInfo);
    if (partInfo.type !== PartType.ATTRIBUTE || partInfo.name !== 'style')
      throw new TypeError('styleProps: bind it to the style attribute only');
  }

  render(_props: StyleProps): typeof noChange {
    return noChange;
  }

  override update(part: AttributePart, [props]: [StyleProps]): typeof noChange {
    const style = part.element.style;
    for (const name of this.previous) if (!(name in props)) style.removeProperty(name);
    for (const [name, value] of Object.entries(props)) style.setProperty(name, value);
    this.previous = new Set(Object.keys(props));
    return noChange;
  }
}

/** Set `props` on the element's inline style through the CSSOM (see the module comment). */
export const styleProps = directive(StylePropsDirective);
