/**
 * Text documents → "pages": Markdown and HTML are split into sections at their level-1 and
 * level-2 headings (each section keeps its heading as its first line), plain text into pages of
 * about PAGE_CHARS characters at blank lines. Pages have no image. Pure apart from parsing.
 *
 * The output is plain text for search and display, never HTML: markup, scripts and styles are
 * dropped, entities decoded. Whoever shows it must escape it like any other user text.
 */
import { decodeHTML } from 'entities';
import { Parser } from 'htmlparser2';
import { decodeUtf8 } from './detect.js';
import { DocumentTooLargeError, EmptyFileError } from './errors.js';
import type { ExtractedDocument, ExtractedPage } from './extracted.js';

export interface SectionOptions {
  /** More sections/pages than this is refused with TOO_MANY_PAGES. */
  maxPages: number;
}

/** Target size of a plain-text page, and of the parts a very long section is cut into. */
export const PAGE_CHARS = 2000;
/** A Markdown/HTML section is kept whole up to this size, then cut into PAGE_CHARS parts. */
const SECTION_CHARS = 2 * PAGE_CHARS;
/** Longer "headings" are an unclosed heading tag swallowing the text after it. */
const MAX_HEADING_CHARS = 300;
/** Markdown lines longer than this keep their inline syntax (a guard; the patterns are linear anyway). */
const MAX_INLINE_CHARS = 20_000;

export type TextDocumentKind = 'markdown' | 'html' | 'text';

/** Decodes UTF-8 bytes if needed (refusing bad encodings) and extracts by kind. */
export function extractTextDocument(input: Uint8Array | string, kind: TextDocumentKind, options: SectionOptions): ExtractedDocument {
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  switch (kind) {
    case 'markdown':
      return extractMarkdown(text, options);
    case 'html':
      return extractHtml(text, options);
    case 'text':
      return extractPlainText(text, options);
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown

interface Section {
  heading: string | null;
  body: string;
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT_1 = /^ {0,3}=+[ \t]*$/;
const SETEXT_2 = /^ {0,3}-+[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$/;
const NOT_PARAGRAPH = /^ {0,3}(?:[-*+>]|\d{1,9}[.)]|#|\||`{3}|~{3})/;

export function extractMarkdown(markdown: string, options: SectionOptions): ExtractedDocument {
  checkOptions(options);
  let text = normaliseNewlines(markdown);
  let frontMatterTitle: string | null = null;
  const front = /^---[ \t]*\n([\s\S]*?)\n(?:---|\.\.\.)[ \t]*(?:\n|$)/.exec(text);
  if (front) {
    const title = /^title:[ \t]*(.+?)[ \t]*$/m.exec(front[1] ?? '');
    if (title?.[1]) frontMatterTitle = title[1].replace(/^(['"])(.*)\1$/, '$2').trim() || null;
    text = text.slice(front[0].length);
  }
  text = stripHtmlComments(text);

  const lines = text.split('\n');
  const sections: Section[] = [];
  let current: { heading: string | null; lines: string[] } = { heading: null, lines: [] };
  let title: string | null = null;
  let fence: string | null = null;
  const startSection = (heading: string, level: number) => {
    sections.push({ heading: current.heading, body: cleanMarkdownBody(current.lines) });
    current = { heading, lines: [] };
    if (level === 1 && title === null && heading) title = heading;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (fence !== null) {
      current.lines.push(line);
      if (new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`).test(line)) fence = null;
      continue;
    }
    const fenceOpen = FENCE_OPEN.exec(line);
    if (fenceOpen) {
      fence = fenceOpen[1]!;
      current.lines.push(line);
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      const level = atx[1]!.length;
      const heading = cleanInline(atx[2] ?? '');
      if (level <= 2) startSection(heading, level);
      else current.lines.push(heading);
      continue;
    }
    const next = lines[i + 1];
    const previous = i > 0 ? lines[i - 1]! : '';
    if (next !== undefined && line.trim() !== '' && previous.trim() === '' && !NOT_PARAGRAPH.test(line) && (SETEXT_1.test(next) || SETEXT_2.test(next))) {
      startSection(cleanInline(line.trim()), SETEXT_1.test(next) ? 1 : 2);
      i++;
      continue;
    }
    current.lines.push(line);
  }
  sections.push({ heading: current.heading, body: cleanMarkdownBody(current.lines) });

  return finish(title ?? frontMatterTitle, sections, options);
}

function cleanMarkdownBody(lines: string[]): string {
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of lines) {
    if (fence !== null) {
      if (new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`).test(line)) fence = null;
      else out.push(line.replace(/\s+$/, ''));
      continue;
    }
    const fenceOpen = FENCE_OPEN.exec(line);
    if (fenceOpen) {
      fence = fenceOpen[1]!;
      continue;
    }
    if (THEMATIC_BREAK.test(line) || TABLE_RULE.test(line)) continue;
    const unquoted = line.replace(/^ {0,3}(?:>[ \t]?)+/, '');
    out.push(cleanInline(unquoted));
  }
  return tidy(out.join('\n'));
}

/** Markdown inline syntax → its text: links and images keep their text, emphasis and code marks go. */
function cleanInline(s: string): string {
  if (s.length > MAX_INLINE_CHARS) return s.replace(/<\/?[a-zA-Z][^<>]*>/g, '').trimEnd();
  let t = s
    .replace(INLINE.image, '$1')
    .replace(INLINE.imageRef, '$1')
    .replace(INLINE.link, '$1')
    .replace(INLINE.linkRef, '$1')
    .replace(INLINE.definition, '')
    .replace(INLINE.tag, '')
    .replace(INLINE.code, '$1')
    .replace(INLINE.strong, '$2')
    .replace(INLINE.emphasisStar, '$1')
    .replace(INLINE.emphasisUnderscore, '$1')
    .replace(INLINE.strike, '$1')
    .replace(INLINE.escape, '$1');
  if (t.includes('&')) t = decodeHTML(t);
  return t.trimEnd();
}

/**
 * Inline Markdown patterns. Each scan from a candidate start stops at the next delimiter of its
 * kind (no `[^\]]+` running past another `[`, no URL running past a space or parenthesis), so a
 * hostile line of thousands of unclosed brackets or asterisks costs linear, not quadratic, time.
 */
const LINK_DESTINATION = String.raw`\((?:[^()\s]|\([^()\s]*\))*(?:\s+"[^"\n]*")?\)`;
const INLINE = {
  image: new RegExp(String.raw`!\[([^\][]*)\]` + LINK_DESTINATION, 'g'),
  imageRef: /!\[([^\][]*)\]\[[^\][]*\]/g,
  link: new RegExp(String.raw`\[([^\][]+)\]` + LINK_DESTINATION, 'g'),
  linkRef: /\[([^\][]+)\]\[[^\][]*\]/g,
  definition: /^ {0,3}\[[^\][]+\]:\s+\S+.*$/,
  tag: /<\/?[a-zA-Z][^<>]*>/g,
  code: /`+([^`]+)`+/g,
  strong: /(\*\*|__)(?=[^\s*_])([^*_\n]*[^\s*_])\1/g,
  emphasisStar: /(?<![\w*])\*(?=[^\s*])([^*\n]*[^\s*])\*(?![\w*])/g,
  emphasisUnderscore: /(?<![\w_])_(?=[^\s_])([^_\n]*[^\s_])_(?![\w_])/g,
  strike: /~~(?=[^\s~])([^~\n]*[^\s~])~~/g,
  escape: /\\([\\`*_{}[\]()#+\-.!|>~])/g,
};

/** Removes `<!-- … -->` in linear time (an unclosed comment runs to the end, as in HTML). */
function stripHtmlComments(text: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const open = text.indexOf('<!--', from);
    if (open === -1) return out + text.slice(from);
    out += text.slice(from, open);
    const close = text.indexOf('-->', open + 4);
    if (close === -1) return out;
    from = close + 3;
  }
}

// ---------------------------------------------------------------------------------------------
// HTML

/** Elements whose content is never text for a reader. */
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'math', 'iframe', 'object', 'embed', 'canvas', 'nav', 'select', 'datalist', 'textarea', 'button', 'head']);
const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'header', 'footer', 'main', 'aside', 'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tfoot', 'tr', 'caption',
  'h3', 'h4', 'h5', 'h6', 'pre', 'blockquote', 'dl', 'dt', 'dd', 'figure', 'figcaption', 'form', 'fieldset', 'legend', 'address', 'hr', 'details',
  'summary', 'body', 'html', 'center', 'label',
]);
const PARAGRAPH = new Set(['p', 'table', 'pre', 'blockquote', 'figure', 'ul', 'ol', 'dl', 'h3', 'h4', 'h5', 'h6', 'section', 'article', 'hr']);

interface OpenElement {
  name: string;
  skip: boolean;
  /** Next item number of an <ol>. */
  counter?: number;
}

export function extractHtml(html: string, options: SectionOptions): ExtractedDocument {
  checkOptions(options);
  const sections: Section[] = [];
  const stack: OpenElement[] = [];
  /** The open <ol>/<ul> elements, innermost last (so an <li> finds its list without walking `stack`). */
  const lists: OpenElement[] = [];
  let skipDepth = 0;
  /** Open skipped elements other than <head> (a <title> inside one, e.g. an SVG's, is not the document's). */
  let skipOutsideHead = 0;
  let pre = 0;
  let body = '';
  let heading: string | null = null;
  let capture: { level: number; text: string } | null = null;
  let titleText: string | null = null;
  let inTitle = false;
  let firstH1: string | null = null;
  let cellsInRow = 0;

  // The blank run at the end of `body` (newlines, then spaces) is tracked as text is appended, so
  // deciding whether a block needs a line break costs O(1). Re-reading the end of `body` with a
  // regex per break was quadratic: 160 KB of `<p>a</p>` took 17 s (issue 17, item 4).
  const tail = { newlines: 0, length: 0 };
  const appendBody = (s: string) => {
    body += s;
    let spaces = 0;
    while (spaces < s.length && isSpaceOrTab(s.charCodeAt(s.length - 1 - spaces))) spaces++;
    let newlines = 0;
    while (spaces + newlines < s.length && s.charCodeAt(s.length - 1 - spaces - newlines) === 10) newlines++;
    if (spaces + newlines < s.length) {
      tail.newlines = newlines;
      tail.length = spaces + newlines;
    } else if (newlines === 0) {
      tail.length += spaces;
    } else if (tail.length === tail.newlines) {
      // The old tail had no spaces after its newlines: the new newlines extend it.
      tail.newlines += newlines;
      tail.length += spaces + newlines;
    } else {
      tail.newlines = newlines;
      tail.length = spaces + newlines;
    }
  };
  const resetBody = () => {
    body = '';
    tail.newlines = 0;
    tail.length = 0;
  };
  const emit = (s: string) => {
    if (capture) capture.text += s;
    else appendBody(s);
  };
  /** Ends the current line (or paragraph), without stacking blank lines. */
  const breakLine = (paragraph: boolean) => {
    if (capture) {
      capture.text += ' ';
      return;
    }
    const want = paragraph ? 2 : 1;
    if (body.length > tail.length && tail.newlines < want) appendBody('\n'.repeat(want - tail.newlines));
  };
  /** Ends a heading capture: short text becomes the next section's heading, runaway text (an unclosed <h1>) stays text. */
  const finishCapture = () => {
    if (!capture) return;
    const text = collapse(capture.text);
    const level = capture.level;
    capture = null;
    if (text.length > MAX_HEADING_CHARS) {
      appendBody(text);
      return;
    }
    if (level === 1 && firstH1 === null && text) firstH1 = text;
    heading = text || null;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const hidden = 'hidden' in attribs || attribs['aria-hidden'] === 'true' || /display\s*:\s*none/i.test(attribs.style ?? '');
        const skip = SKIP.has(name) || hidden;
        const element: OpenElement = { name, skip };
        if (name === 'ol') element.counter = Number.parseInt(attribs.start ?? '1', 10) || 1;
        stack.push(element);
        if (name === 'ol' || name === 'ul') lists.push(element);
        if (skip) {
          skipDepth++;
          if (name !== 'head') skipOutsideHead++;
        }
        // The document's <title> (in <head>, or stray in <body>), not an SVG's.
        if (name === 'title' && titleText === null && skipOutsideHead === 0) inTitle = true;
        if (skipDepth > 0) return;

        if (name === 'h1' || name === 'h2') {
          finishCapture();
          sections.push({ heading, body: tidy(body) });
          resetBody();
          heading = null;
          capture = { level: name === 'h1' ? 1 : 2, text: '' };
          return;
        }
        if (name === 'pre') pre++;
        if (name === 'br') return emit('\n');
        if (BLOCK.has(name)) breakLine(PARAGRAPH.has(name));
        if (name === 'li') {
          const list = lists.at(-1);
          if (list?.name === 'ol' && list.counter !== undefined) emit(`${list.counter++}. `);
          else emit('- ');
        } else if (name === 'tr') {
          cellsInRow = 0;
        } else if (name === 'td' || name === 'th') {
          if (cellsInRow++ > 0) emit(' | ');
        } else if (name === 'img') {
          const alt = (attribs.alt ?? '').trim();
          if (alt) emit(` ${alt} `);
        }
      },
      ontext(data) {
        if (inTitle) {
          titleText = (titleText ?? '') + data;
          return;
        }
        if (skipDepth > 0) return;
        emit(pre > 0 && !capture ? data : data.replace(/\s+/g, ' '));
      },
      onclosetag(name) {
        // htmlparser2 closes every element it opened (implied closes included), in order.
        let element = stack.pop();
        while (element && element.name !== name) {
          if (lists.at(-1) === element) lists.pop();
          element = stack.pop();
        }
        if (!element) return;
        if (lists.at(-1) === element) lists.pop();
        if (name === 'title') inTitle = false;
        if (element.skip) {
          skipDepth--;
          if (name !== 'head') skipOutsideHead--;
          return;
        }
        if (skipDepth > 0) return;
        if ((name === 'h1' || name === 'h2') && capture) {
          finishCapture();
          return;
        }
        if (name === 'pre') pre = Math.max(0, pre - 1);
        if (BLOCK.has(name)) breakLine(PARAGRAPH.has(name));
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html.replace(/^\uFEFF/, ''));
  parser.end();
  finishCapture();
  sections.push({ heading, body: tidy(body) });

  const title = collapse(titleText ?? '') || firstH1;
  return finish(title, sections, options);
}

// ---------------------------------------------------------------------------------------------
// Plain text

export function extractPlainText(text: string, options: SectionOptions): ExtractedDocument {
  checkOptions(options);
  const clean = normaliseNewlines(text)
    // ANSI colour codes in logs, then control characters other than tab, newline and form feed.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .replace(/[\x00-\x08\x0b\x0e-\x1f\x7f]/g, '')
    // Rules drawn with characters (underlines of headings, separators) carry no text.
    .replace(/^[ \t]*([=\-_*~#+])\1{2,}[ \t]*$/gm, '');
  // A form feed is a page break in text exported from printers and PDF tools.
  const texts: string[] = [];
  for (const part of clean.split('\f')) {
    const tidied = tidy(part);
    if (tidied) texts.push(...splitToFit(tidied, PAGE_CHARS));
    if (texts.length > options.maxPages) throw tooManyPages(options.maxPages, texts.length, true);
  }
  return { title: null, pages: toPages(texts, options) };
}

// ---------------------------------------------------------------------------------------------
// Shared

function finish(title: string | null, sections: Section[], options: SectionOptions): ExtractedDocument {
  const texts: string[] = [];
  let carried = '';
  for (const { heading, body } of sections) {
    const head = [carried, heading ?? ''].filter(Boolean).join('\n\n');
    if (!body) {
      // A heading with no text of its own (e.g. the H1 above the first H2) leads the next section.
      carried = head;
      continue;
    }
    carried = '';
    const whole = head ? `${head}\n\n${body}` : body;
    if (whole.length <= SECTION_CHARS) {
      texts.push(whole);
    } else {
      splitToFit(body, PAGE_CHARS).forEach((part, i) => {
        const label = i === 0 ? head : heading ? `${heading} (continued)` : '';
        texts.push(label ? `${label}\n\n${part}` : part);
      });
    }
    if (texts.length > options.maxPages) throw tooManyPages(options.maxPages, texts.length, true);
  }
  if (carried) texts.push(carried);
  return { title: title ? collapse(title) || null : null, pages: toPages(texts, options) };
}

function toPages(texts: string[], options: SectionOptions): ExtractedPage[] {
  if (texts.length === 0) throw new EmptyFileError('The document contains no text.');
  if (texts.length > options.maxPages) throw tooManyPages(options.maxPages, texts.length, false);
  return texts.map((text, i) => ({ number: i + 1, text, image: null, thumbnail: null }));
}

function tooManyPages(maxPages: number, count: number, atLeast: boolean): DocumentTooLargeError {
  return new DocumentTooLargeError(
    'TOO_MANY_PAGES',
    `The document has ${atLeast ? 'more than ' : ''}${atLeast ? maxPages : count} sections; the limit is ${maxPages}. Split it into smaller documents.`,
    { details: { limitPages: maxPages } },
  );
}

function checkOptions(options: SectionOptions): void {
  if (!Number.isInteger(options.maxPages) || options.maxPages < 1) throw new RangeError(`maxPages must be a positive integer, got ${options.maxPages}`);
}

const SEPARATORS = [/\n[ \t]*\n/, /\n/, /(?<=[.!?;:])\s+/, /\s+/];
const JOINERS = ['\n\n', '\n', ' ', ' '];

/**
 * Cuts text into parts of at most `limit` characters, at the coarsest boundary that works:
 * blank lines, then lines, then sentence ends, then spaces, and as a last resort inside a
 * word (at a code-point boundary). Neighbouring small parts are packed together.
 */
export function splitToFit(text: string, limit: number, level = 0): string[] {
  if (text.length <= limit) return text ? [text] : [];
  const separator = SEPARATORS[level];
  if (!separator) {
    const chars = Array.from(text);
    const out: string[] = [];
    for (let i = 0; i < chars.length; i += limit) out.push(chars.slice(i, i + limit).join(''));
    return out;
  }
  const joiner = JOINERS[level]!;
  const out: string[] = [];
  let current = '';
  for (const part of text.split(separator)) {
    const trimmed = part.trim();
    if (!trimmed) continue;
    for (const piece of trimmed.length > limit ? splitToFit(trimmed, limit, level + 1) : [trimmed]) {
      if (!current) current = piece;
      else if (current.length + joiner.length + piece.length <= limit) current += joiner + piece;
      else {
        out.push(current);
        current = piece;
      }
    }
  }
  if (current) out.push(current);
  return out;
}

function normaliseNewlines(s: string): string {
  return s.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** Trims line ends, collapses runs of spaces and of blank lines. */
function tidy(s: string): string {
  return s
    .replace(/\u00a0/g, ' ')
    .split('\n')
    .map((line) => line.replace(/[ \t]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function isSpaceOrTab(code: number): boolean {
  return code === 32 || code === 9;
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
