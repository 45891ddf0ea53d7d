/**
 * Finds English written straight into Lit templates: the check behind "every user-visible
 * string lives in the messages module" (`src/services/ui-strings.ts`). It reads a component's
 * source with the TypeScript parser, walks every `html`/`svg` tagged template and reports the
 * words a person would see or hear that are not expressions: text between tags, the
 * user-visible attributes (`aria-label`, `title`, `placeholder`, `alt`, …), and string
 * literals an expression puts in those places (`${busy ? 'Saving…' : 'Save'}`). A word is two
 * letters in a row in any script; symbols ("·", "×", "…") and entities are not words.
 */
import ts from 'typescript';

/** One hard-coded text: where it is and what it says. */
export interface HardCodedText {
  /** 1-based line of the text in the file. */
  readonly line: number;
  /** `text` between tags, or the attribute it is the value of. */
  readonly where: string;
  readonly text: string;
}

/** Attributes whose value a person sees or a screen reader speaks. */
const VISIBLE_ATTRIBUTES = new Set([
  'aria-label',
  'aria-description',
  'aria-roledescription',
  'aria-valuetext',
  'aria-placeholder',
  'title',
  'placeholder',
  'alt',
  'label',
  // Lit property bindings of the same things.
  '.arialabel',
  '.title',
  '.placeholder',
  '.label',
  '.heading',
  '.message',
  '.confirmlabel',
]);

/** Elements whose content is not text for people. */
const NOT_TEXT_ELEMENTS = new Set(['style', 'script']);

const WORD = /\p{L}{2,}/u;
const ENTITY = /&(?:#\d+|#x[\da-f]+|\w+);/giu;
/** Stands for an expression while the static parts are read as one piece of markup. */
const SLOT = '\u0000';

/** Whether `s` (an expression's slot removed) holds a word. */
function hasWord(s: string): boolean {
  return WORD.test(s.replaceAll(SLOT, ' ').replace(ENTITY, ' '));
}

/**
 * Where each expression of a template lands: `text`, an attribute name (lower case), or
 * `other` (a tag name, an element that is not text, an attribute nobody reads).
 * Also reports hard-coded static text through `found`.
 */
function readMarkup(
  parts: readonly string[],
  found: (where: string, text: string) => void,
): string[] {
  const markup = parts.join(SLOT);
  const slots: string[] = [];
  let i = 0;
  let skipUntil: string | null = null;
  const take = (from: number, to: number, where: string | null): void => {
    const piece = markup.slice(from, to);
    for (let k = 0; k < piece.length; k++) if (piece[k] === SLOT) slots.push(where ?? 'other');
    if (where !== null && hasWord(piece)) found(where, piece.replaceAll(SLOT, '${…}').trim());
  };
  while (i < markup.length) {
    if (markup.startsWith('<!--', i)) {
      const end = markup.indexOf('-->', i);
      const stop = end < 0 ? markup.length : end + 3;
      take(i, stop, null);
      i = stop;
      continue;
    }
    if (markup[i] !== '<') {
      const next = markup.indexOf('<', i);
      const stop = next < 0 ? markup.length : next;
      take(i, stop, skipUntil === null ? 'text' : null);
      i = stop;
      continue;
    }
    // A tag: its name, then attributes up to '>'.
    const nameMatch = /^<\/?([^\s>/\0]*)/u.exec(markup.slice(i))!;
    const tag = nameMatch[1]!.toLowerCase();
    const closing = markup[i + 1] === '/';
    take(i, i + nameMatch[0].length, null);
    i += nameMatch[0].length;
    if (closing && skipUntil === tag) skipUntil = null;
    else if (!closing && NOT_TEXT_ELEMENTS.has(tag)) skipUntil = tag;
    while (i < markup.length && markup[i] !== '>') {
      const attr = /^\s*([^\s=>]+)(\s*=\s*)?/u.exec(markup.slice(i));
      if (attr === null || attr[0].length === 0) {
        take(i, i + 1, null);
        i += 1;
        continue;
      }
      const name = attr[1]!.toLowerCase();
      take(i, i + attr[0].length, null);
      i += attr[0].length;
      if (attr[2] === undefined) continue;
      const where = VISIBLE_ATTRIBUTES.has(name) ? name : null;
      const quote = markup[i];
      let stop: number;
      if (quote === '"' || quote === "'") {
        const end = markup.indexOf(quote, i + 1);
        stop = end < 0 ? markup.length : end + 1;
      } else {
        const m = /^[^\s>]*/u.exec(markup.slice(i))!;
        stop = i + m[0].length;
      }
      take(i, stop, where);
      i = stop;
    }
    i += 1;
  }
  return slots;
}

/** String literals an expression can evaluate to (through `?:`, `??`, `||`, `&&`, `+`). */
function literalsOf(e: ts.Expression): ts.StringLiteralLike[] {
  if (ts.isStringLiteralLike(e)) return [e];
  if (ts.isParenthesizedExpression(e)) return literalsOf(e.expression);
  if (ts.isConditionalExpression(e)) return [...literalsOf(e.whenTrue), ...literalsOf(e.whenFalse)];
  if (ts.isBinaryExpression(e)) {
    const op = e.operatorToken.kind;
    if (
      op === ts.SyntaxKind.QuestionQuestionToken ||
      op === ts.SyntaxKind.BarBarToken ||
      op === ts.SyntaxKind.PlusToken
    ) {
      return [...literalsOf(e.left), ...literalsOf(e.right)];
    }
    if (op === ts.SyntaxKind.AmpersandAmpersandToken) return literalsOf(e.right);
  }
  if (ts.isTemplateExpression(e)) {
    const pieces = [e.head, ...e.templateSpans.map((s) => s.literal)];
    return [
      ...pieces.filter((p) => hasWord(p.text)).map((p) => ts.factory.createStringLiteral(p.text)),
      ...e.templateSpans.flatMap((s) => literalsOf(s.expression)),
    ];
  }
  return [];
}

/** A literal that reads as the start of an English sentence or label ("Block bob", "Failed: "). */
const SENTENCE = /^\s*\p{Lu}(?:\p{Ll}+(?:[\s.,:;!?…’]|$)|\s)/u;
/** Methods whose string argument is a value looked up, not a text. */
const LOOKUPS = new Set(['includes', 'has', 'get', 'indexOf', 'getAttribute', 'startsWith']);

/** Two words in a row, after an expression (`${user} sent …`). */
const PHRASE = /\p{L}{2,}\s+\p{L}{2,}/u;

/**
 * Whether a literal outside templates is code, not words: a comparison or `case` operand, a
 * type, an import, a property name, an error for developers (`new Error(…)`, `RangeError`), a
 * key of the messages module or the argument of `css`.
 */
function isCode(lit: ts.Node): boolean {
  const p = lit.parent;
  if (ts.isLiteralTypeNode(p) || ts.isImportDeclaration(p) || ts.isExportDeclaration(p))
    return true;
  if (ts.isCaseClause(p) || (ts.isPropertyAssignment(p) && p.name === lit)) return true;
  if (ts.isElementAccessExpression(p)) return true;
  if (ts.isBinaryExpression(p)) {
    const op = p.operatorToken.kind;
    return (
      op === ts.SyntaxKind.EqualsEqualsEqualsToken ||
      op === ts.SyntaxKind.ExclamationEqualsEqualsToken
    );
  }
  if (ts.isNewExpression(p) && ts.isIdentifier(p.expression) && p.expression.text.endsWith('Error'))
    return true;
  if (ts.isTaggedTemplateExpression(p)) return true;
  // A value looked up, not shown: `types.includes('Files')`, `el.getAttribute('Title')`.
  return (
    ts.isCallExpression(p) &&
    ts.isPropertyAccessExpression(p.expression) &&
    LOOKUPS.has(p.expression.name.text)
  );
}

/** Every hard-coded user-visible text in the Lit templates of `source`. */
export function hardCodedTexts(fileName: string, source: string): HardCodedText[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true);
  const out: HardCodedText[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isTaggedTemplateExpression(node) &&
      ts.isIdentifier(node.tag) &&
      (node.tag.text === 'html' || node.tag.text === 'svg')
    ) {
      const t = node.template;
      const parts = ts.isNoSubstitutionTemplateLiteral(t)
        ? [t.text]
        : [t.head.text, ...t.templateSpans.map((s) => s.literal.text)];
      const line = file.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const slots = readMarkup(parts, (where, text) => out.push({ line, where, text }));
      if (!ts.isNoSubstitutionTemplateLiteral(t)) {
        t.templateSpans.forEach((span, k) => {
          const where = slots[k] ?? 'other';
          if (where === 'other') return;
          for (const lit of literalsOf(span.expression)) {
            if (!hasWord(lit.text)) continue;
            const at = lit.pos >= 0 ? lit.getStart() : span.expression.getStart();
            out.push({
              line: file.getLineAndCharacterOfPosition(at).line + 1,
              where,
              text: lit.text,
            });
          }
        });
      }
    }
    if (
      (ts.isStringLiteral(node) ||
        ts.isNoSubstitutionTemplateLiteral(node) ||
        ts.isTemplateExpression(node)) &&
      !isCode(node)
    ) {
      const text = ts.isTemplateExpression(node)
        ? [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join('${…}')
        : node.text;
      const words = text.replace(/^(?:\s*\$\{…\})+\s*/u, '');
      if (SENTENCE.test(words) || (words !== text && PHRASE.test(words))) {
        const line = file.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        out.push({ line, where: 'code', text });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  const seen = new Set<string>();
  return out.filter((h) => {
    const key = `${h.line}\0${h.text}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
