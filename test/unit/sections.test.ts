import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFileType } from '../../src/ingest/detect.js';
import { PAGE_CHARS, extractHtml, extractMarkdown, extractPlainText, extractTextDocument, splitToFit } from '../../src/ingest/sections.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { refusal } from '../helpers/errors.js';

const opts = { maxPages: 100 };
const texts = (doc: { pages: { text: string }[] }) => doc.pages.map((p) => p.text);

describe('extractMarkdown', () => {
  const manual = `# P-200 Pump Manual

Intro paragraph about the **P-200**.

## Safety

> **WARNING:** Lock out per [SOP-07](https://example.com/sop-07).

### Protective equipment

- Safety glasses
- Gloves

## Seal replacement

1. Remove the *gland* nuts.
2. Fit kit \`4471-B\`.

![Figure 2: P-200 mechanical seal, exploded view](seal.png)
`;

  it('splits at # and ## headings, each page keeping its heading, with the title from the first H1', () => {
    const doc = extractMarkdown(manual, opts);
    expect(doc.title).toBe('P-200 Pump Manual');
    expect(texts(doc)).toEqual([
      'P-200 Pump Manual\n\nIntro paragraph about the P-200.',
      'Safety\n\nWARNING: Lock out per SOP-07.\n\nProtective equipment\n\n- Safety glasses\n- Gloves',
      'Seal replacement\n\n1. Remove the gland nuts.\n2. Fit kit 4471-B.\n\nFigure 2: P-200 mechanical seal, exploded view',
    ]);
    expect(doc.pages.map((p) => [p.number, p.image, p.thumbnail])).toEqual([
      [1, null, null],
      [2, null, null],
      [3, null, null],
    ]);
  });

  it('carries a heading without text of its own into the next section', () => {
    const doc = extractMarkdown('# Manual\n\n## Specifications\n\nFlow 45 m³/h.\n\n## Parts\n\n4471-B seal kit\n', opts);
    expect(texts(doc)).toEqual(['Manual\n\nSpecifications\n\nFlow 45 m³/h.', 'Parts\n\n4471-B seal kit']);
  });

  it('does not see headings inside code fences, and keeps the code', () => {
    const doc = extractMarkdown('# Config\n\n```sh\n# not a heading\nexport X=1\n```\n\nDone.\n', opts);
    expect(texts(doc)).toEqual(['Config\n\n# not a heading\nexport X=1\n\nDone.']);
  });

  it('understands setext headings and front matter', () => {
    const doc = extractMarkdown('---\ntitle: "Front title"\nrev: 3\n---\nOverview\n========\n\nText one.\n\nDetails\n-------\n\nText two.\n', opts);
    expect(doc.title).toBe('Overview');
    expect(texts(doc)).toEqual(['Overview\n\nText one.', 'Details\n\nText two.']);
    expect(extractMarkdown('---\ntitle: Front title\n---\n\nJust text.\n', opts).title).toBe('Front title');
  });

  it('has no title without an H1', () => {
    expect(extractMarkdown('## Only a section\n\nText.\n', opts).title).toBeNull();
  });

  it('drops markup noise: tables rules, HTML tags, comments, thematic breaks', () => {
    const doc = extractMarkdown('# T\n\n<!-- hidden\n# not a heading -->\n| Part | Torque |\n| --- | ---: |\n| 4471-B | 18 N·m |\n\n---\n\n<b>Bold</b> &amp; done\n', opts);
    expect(texts(doc)).toEqual(['T\n\n| Part | Torque |\n| 4471-B | 18 N·m |\n\nBold & done']);
  });

  it('cuts a very long section into parts marked "(continued)"', () => {
    const para = 'The seal faces must be clean and dry before assembly. '.repeat(30).trim();
    const doc = extractMarkdown(`## Long\n\n${Array.from({ length: 6 }, () => para).join('\n\n')}\n`, opts);
    expect(doc.pages.length).toBeGreaterThan(2);
    expect(doc.pages[0]!.text.startsWith('Long\n\n')).toBe(true);
    expect(doc.pages[1]!.text.startsWith('Long (continued)\n\n')).toBe(true);
    for (const p of doc.pages) expect(p.text.length).toBeLessThanOrEqual(PAGE_CHARS + 40);
  });

  it('refuses more sections than maxPages, and a document without text', () => {
    const many = Array.from({ length: 12 }, (_, i) => `## S${i}\n\ntext ${i}\n`).join('\n');
    const e = refusal(() => extractMarkdown(many, { maxPages: 10 }));
    expect(e.code).toBe('TOO_MANY_PAGES');
    expect(e.details).toEqual({ limitPages: 10 });
    expect(extractMarkdown(many, { maxPages: 12 }).pages).toHaveLength(12);
    expect(refusal(() => extractMarkdown('  \n\n<!-- nothing -->\n', opts)).code).toBe('EMPTY_FILE');
  });
});

describe('hostile input', () => {
  it('finishes quickly on pathological Markdown and HTML', () => {
    const many = { maxPages: 10_000 };
    const started = performance.now();
    expect(extractMarkdown(`# T\n\nx ${'<!--'.repeat(50_000)}`, many).pages).toHaveLength(1);
    extractMarkdown(`# T\n\n${'[a'.repeat(50_000)}\n${'** x '.repeat(40_000)}\n${'_a '.repeat(50_000)}`, many);
    extractMarkdown(Array.from({ length: 2000 }, () => `${'[x'.repeat(500)} **a ${'*'.repeat(300)}`).join('\n'), many);
    expect(texts(extractHtml(`<p>${'<a <b '.repeat(50_000)}${'<div>'.repeat(20_000)}>text`, many)).join('')).toContain('text');
    expect(performance.now() - started).toBeLessThan(3000);
  });

  // Issue 17 item 4: a regex over the whole body per line break made this quadratic (160 KB: 17 s).
  it('extracts 160 KB of <p>a</p> in linear time, and blank runs or deep lists do not bring it back', () => {
    const many = { maxPages: 10_000 };
    const paragraphs = 20_480;
    let started = performance.now();
    const doc = extractHtml('<p>a</p>'.repeat(paragraphs), many);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(texts(doc).join('\n\n').split('\n\n')).toHaveLength(paragraphs);

    started = performance.now();
    // A long run of spaces followed by many empty blocks (each break looks at the end of the text),
    // and a list nested 5,000 deep holding 20,000 items (each item looks for its list).
    const blank = extractHtml(`<p>a</p>${'<span> </span>'.repeat(20_000)}${'<div></div>'.repeat(20_000)}<p>b</p>`, many);
    expect(texts(blank)).toEqual(['a\n\nb']);
    const lists = extractHtml(`${'<ul><div>'.repeat(5_000)}${'<li>x</li>'.repeat(20_000)}`, many);
    expect(texts(lists).join('\n').match(/- x/g)).toHaveLength(20_000);
    expect(performance.now() - started).toBeLessThan(1500);
  });
});

describe('extractHtml', () => {
  const page = `<!DOCTYPE html>
<html><head>
<title>TC-2.1 Wiring Guide | Docs</title>
<style>body { color: red } h1 { font-size: 2em }</style>
<script>var s = "<h1>fake</h1></div>"; if (a < b && c > d) { document.write('<p>no</p>'); }</script>
</head>
<body>
<nav><a href="/">Home</a> &gt; Docs</nav>
<h1>TC-2.1 Thermostat Controller</h1>
<p>Intro &amp; scope: 230&nbsp;V, 10&#160;A, 5&deg;C.</p>
<noscript><p>Enable JavaScript</p></noscript>
<h2>Terminals</h2>
<table><tr><th>Terminal</th><th>Function</th></tr><tr><td>1 (L)</td><td>Live</td></tr></table>
<div hidden>secret draft</div><span style="display:none">invisible</span>
<h2>Wiring <small>a heater</small></h2>
<ol><li>Isolate per SOP-07.<li>Connect <b>terminal 4</b>.</ol>
<ul><li>Fuse F-315T</li></ul>
<figure><img src="x.png" alt="Wiring diagram"><figcaption>Figure 1: terminal layout</figcaption></figure>
<svg><title>icon title</title><text>svg text</text></svg>
<!-- comment <h2>not a section</h2> -->
<footer>© Demo</footer>
</body></html>`;

  it('drops scripts, styles, navigation, hidden content, SVG and comments', () => {
    const all = texts(extractHtml(page, opts)).join('\n');
    for (const gone of ['fake', 'color', 'document.write', 'Home', 'Enable JavaScript', 'secret', 'invisible', 'icon title', 'svg text', 'not a section']) {
      expect(all).not.toContain(gone);
    }
  });

  it('splits at h1/h2 with the heading first, decodes entities, keeps lists and tables readable', () => {
    const doc = extractHtml(page, opts);
    expect(doc.title).toBe('TC-2.1 Wiring Guide | Docs');
    expect(texts(doc)).toEqual([
      'TC-2.1 Thermostat Controller\n\nIntro & scope: 230 V, 10 A, 5°C.',
      'Terminals\n\nTerminal | Function\n1 (L) | Live',
      'Wiring a heater\n\n1. Isolate per SOP-07.\n2. Connect terminal 4.\n\n- Fuse F-315T\n\nWiring diagram\nFigure 1: terminal layout\n\n© Demo',
    ]);
  });

  it('takes the title from the first h1 when there is no <title>', () => {
    expect(extractHtml('<body><h2>A</h2><p>x</p><h1>Real   title</h1><p>y</p></body>', opts).title).toBe('Real title');
    expect(extractHtml('<p>no headings at all</p>', opts).title).toBeNull();
  });

  it('copes with broken markup', () => {
    // The <h1> is never closed: its text is a heading without a body, carried into the next section.
    const doc = extractHtml('<h1>Pump<p>Unclosed <b>bold <i>text<h2>Next</h2>after</td></tr><p>end', opts);
    expect(texts(doc)).toEqual(['Pump Unclosed bold text\n\nNext\n\nafter\n\nend']);
    // An unclosed <h1> that swallows the whole page is text, not a 2,000-character heading.
    const runaway = extractHtml(`<h1>Manual<p>${'Long body text. '.repeat(40)}`, opts);
    expect(runaway.title).toBeNull();
    expect(runaway.pages[0]!.text.startsWith('Manual Long body text.')).toBe(true);
    expect(texts(extractHtml('<p>Script never closed<script>alert(1)', opts))).toEqual(['Script never closed']);
  });

  it('keeps preformatted line breaks', () => {
    expect(texts(extractHtml('<h1>Log</h1><pre>E1 sensor open\nE2 sensor short</pre>', opts))).toEqual(['Log\n\nE1 sensor open\nE2 sensor short']);
  });

  it('refuses more sections than maxPages', () => {
    const html = Array.from({ length: 5 }, (_, i) => `<h2>S${i}</h2><p>t</p>`).join('');
    expect(refusal(() => extractHtml(html, { maxPages: 4 })).code).toBe('TOO_MANY_PAGES');
  });
});

describe('extractPlainText', () => {
  it('packs blank-line separated blocks into pages of at most ~2,000 characters', () => {
    const block = (i: number) => `Step ${i}. Check the oil level in the sight glass and top up with CO-46 if the level is low.`;
    const text = Array.from({ length: 80 }, (_, i) => block(i)).join('\r\n\r\n');
    const doc = extractPlainText(text, opts);
    expect(doc.title).toBeNull();
    expect(doc.pages.length).toBeGreaterThan(2);
    for (const p of doc.pages) {
      expect(p.text.length).toBeLessThanOrEqual(PAGE_CHARS);
      expect(p.text).not.toContain('\r');
      expect(p.image).toBeNull();
    }
    // Nothing lost, nothing reordered, blocks never cut.
    expect(doc.pages.map((p) => p.text).join('\n\n')).toBe(Array.from({ length: 80 }, (_, i) => block(i)).join('\n\n'));
  });

  it('cuts one huge paragraph at sentence ends and then at spaces, never losing words', () => {
    const sentence = 'Tighten the eight M12 casing bolts crosswise to 45 N·m in two passes.';
    const text = Array.from({ length: 100 }, () => sentence).join(' ');
    const doc = extractPlainText(text, opts);
    expect(doc.pages.length).toBe(Math.ceil(text.length / PAGE_CHARS));
    for (const p of doc.pages) {
      expect(p.text.length).toBeLessThanOrEqual(PAGE_CHARS);
      expect(p.text.endsWith('passes.')).toBe(true);
    }
    expect(doc.pages.map((p) => p.text).join(' ')).toBe(text);
  });

  it('treats form feeds as page breaks and strips control characters', () => {
    const doc = extractPlainText('Page one\x1b[1m bold\x1b[0m\fPage two\x07\n', opts);
    expect(texts(doc)).toEqual(['Page one bold', 'Page two']);
  });

  it('refuses more pages than maxPages, and blank text', () => {
    const text = Array.from({ length: 30 }, () => 'x'.repeat(1500)).join('\n\n');
    expect(refusal(() => extractPlainText(text, { maxPages: 20 })).code).toBe('TOO_MANY_PAGES');
    expect(refusal(() => extractPlainText(' \n \t\n', opts)).code).toBe('EMPTY_FILE');
  });
});

describe('splitToFit', () => {
  it('falls back to cutting inside a word only when a word is longer than the limit', () => {
    expect(splitToFit('aaaa bbbb cccc', 9)).toEqual(['aaaa bbbb', 'cccc']);
    expect(splitToFit('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });
});

describe('extractTextDocument', () => {
  it('decodes bytes and refuses bad encodings', () => {
    expect(texts(extractTextDocument(new TextEncoder().encode('\uFEFF# T\n\nbody'), 'markdown', opts))).toEqual(['T\n\nbody']);
    const e = refusal(() => extractTextDocument(Buffer.from('caf\xe9', 'latin1'), 'text', opts));
    expect(e.code).toBe('INVALID_ENCODING');
  });

  it('extracts the demo knowledge base documents that are not PDFs', () => {
    const docs = path.join(REPO_ROOT, 'demo', 'docs');
    const read = (f: string) => readFileSync(path.join(docs, f));
    const loto = read('sop-07-lockout-tagout.md');
    expect(detectFileType(loto, 'sop-07-lockout-tagout.md')).toEqual({ kind: 'markdown' });
    const lotoDoc = extractTextDocument(loto, 'markdown', opts);
    expect(lotoDoc.title).toBe('SOP-07: Lock-out/Tag-out (LOTO) of Machinery and Process Equipment');
    expect(lotoDoc.pages.some((p) => p.text.startsWith('3. Procedure') && p.text.includes('LK-100'))).toBe(true);

    const html = read('tc-21-thermostat-wiring-guide.html');
    expect(detectFileType(html, 'guide.html')).toEqual({ kind: 'html' });
    const htmlDoc = extractTextDocument(html, 'html', opts);
    expect(htmlDoc.title).toContain('TC-2.1 Thermostat Controller');
    const all = texts(htmlDoc).join('\n');
    expect(all).toContain('0.5 N·m');
    expect(all).toContain('F-315T');
    expect(all).not.toContain('dataLayer');
    expect(all).not.toContain('font-family');

    const txt = read('ac-50-compressor-daily-checklist.txt');
    expect(detectFileType(txt, 'checklist.txt')).toEqual({ kind: 'text' });
    const txtDoc = extractTextDocument(txt, 'text', opts);
    expect(txtDoc.pages.length).toBeGreaterThanOrEqual(1);
    expect(txtDoc.pages[0]!.text.startsWith('AC-50 AIR COMPRESSOR')).toBe(true);
    expect(texts(txtDoc).join('\n')).toContain('OS-50');
  });
});
