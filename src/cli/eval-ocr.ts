/**
 * `fieldscope eval ocr [set-folder] [--subset ci] [--json] [--min-char-accuracy A] [--min-identifier-recall R]`:
 * how well the product reads nameplates, labels, codes and scanned pages, on a set the project
 * makes (demo/ocr-eval/, built by its make-set.ts: rendered plates and labels photographed badly,
 * QR codes and 1-D barcodes, a scanned PDF).
 *
 * A set is a folder with set.jsonl, one item a line:
 *   { "id", "file", "kind": "plate"|"label"|"qr"|"barcode"|"scan", "text"?: string|null,
 *     "pages"?: [string, …], "identifiers": [string, …], "codes"?: [{ "format", "value" }],
 *     "ci"?: true, "note"? }
 * An image item (`text`: what is written on it, or null when only a code is to be read) is read
 * as readText reads it; a document item (`pages`: each page's text) is ingested as ingestDocument
 * ingests it (scanned pages OCR'd) into a throwaway knowledge base, and its stored pages compared.
 * Both go through the server's own services (createCore), so the figures are the product's.
 *
 * Printed: character accuracy (1 − edits ÷ characters, white space collapsed; see
 * ocr/read-accuracy.ts), identifier recall (the expected identifiers readText extracts: what
 * search could then match), code recall (format and value exact), per kind and overall, and
 * seconds per item.
 *
 * "With KB" recall: search and identifyPart also resolve read tokens OCR glued to a neighbouring
 * word ("TYPEP-200PUMP") against the identifiers the knowledge base holds (search/glued-identifiers.ts).
 * readText has no knowledge base, so its own figure cannot show that; the second figure reads each
 * item against a knowledge base holding every identifier of the whole set (each item's are its
 * answer, the others' are distractors): the best case, where the tenant has every part's manual.
 * "Added, not on the item" counts identifiers that resolution added and the item does not carry
 * (junk it let through); it should stay 0.
 *
 * Every line is checked before anything runs: bad lines are reported with their line numbers and
 * the command exits 2. Exit codes: 0 with a report; 3 when a --min-… floor is not met; 1 when it
 * cannot run (configuration, models); 2 for bad arguments or a bad set.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadConfig } from '../config.js';
import type { Core } from '../core/create-core.js';
import { openThrowawayCore, type ThrowawayCore } from './throwaway-core.js';
import { DEMO_DIR } from '../demo/load-demo.js';
import { isAppError } from '../errors.js';
import { characterAccuracy, identifiersFound, scoreText, type TextScore } from '../ocr/read-accuracy.js';
import { extractIdentifiers, normalizeIdentifier } from '../search/identifiers.js';
import { resolveGluedIdentifiers } from '../search/glued-identifiers.js';
import type { OutStream } from './terminal.js';

export const DEFAULT_OCR_SET = path.join(DEMO_DIR, 'ocr-eval');

const USAGE = `Usage: fieldscope eval ocr [set-folder] [--subset ci] [--json] [--min-char-accuracy A] [--min-identifier-recall R]

Measures reading (character accuracy, identifier recall, code recall) on a set of photographed
nameplates, labels, QR codes, barcodes and scanned PDFs: a folder with set.jsonl (default: the
project's set, demo/ocr-eval, made by demo/ocr-eval/make-set.ts). Images are read as readText
reads them; documents are ingested into a throwaway knowledge base, yours is not touched.
  --subset ci               only the items marked "ci" (the small subset CI runs)
  --json                    print the report as JSON
  --min-char-accuracy A     exit 3 when overall character accuracy is below A (0..1)
  --min-identifier-recall R exit 3 when overall identifier recall is below R (0..1)
`;

const KINDS = ['plate', 'label', 'qr', 'barcode', 'scan'] as const;
type Kind = (typeof KINDS)[number];

const itemSchema = z
  .object({
    id: z.string().min(1).max(200),
    file: z.string().min(1).max(1000),
    kind: z.enum(KINDS),
    text: z.string().max(100_000).nullable().optional(),
    pages: z.array(z.string().max(100_000)).min(1).max(500).optional(),
    identifiers: z.array(z.string().min(1).max(200)).max(500),
    codes: z.array(z.object({ format: z.string().min(1), value: z.string().min(1) }).strict()).max(50).optional(),
    ci: z.boolean().optional(),
    note: z.string().max(2000).optional(),
  })
  .strict()
  .refine((item) => (item.pages === undefined) !== (item.text === undefined), { message: 'give either "text" (an image) or "pages" (a document), not both or neither' });
export type OcrSetItem = z.infer<typeof itemSchema>;

/** The set cannot be used: every problem found, each naming its line. */
export class OcrSetError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export async function loadOcrSet(folder: string): Promise<OcrSetItem[]> {
  let raw: string;
  try {
    raw = await readFile(path.join(folder, 'set.jsonl'), 'utf8');
  } catch (error) {
    throw new OcrSetError([`set.jsonl cannot be read: ${error instanceof Error ? error.message : String(error)}`]);
  }
  const problems: string[] = [];
  const items: OcrSetItem[] = [];
  const ids = new Set<string>();
  const lines = raw.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const where = `set.jsonl:${i + 1}`;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      problems.push(`${where}: not JSON (${error instanceof Error ? error.message : String(error)})`);
      continue;
    }
    const parsed = itemSchema.safeParse(json);
    if (!parsed.success) {
      problems.push(`${where}: ${parsed.error.issues.map((issue) => `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}`).join('; ')}`);
      continue;
    }
    const item = parsed.data;
    if (ids.has(item.id)) problems.push(`${where}: the id "${item.id}" appears twice`);
    ids.add(item.id);
    const file = path.resolve(folder, item.file);
    if (!file.startsWith(path.resolve(folder) + path.sep)) {
      problems.push(`${where}: file "${item.file}" is outside the set folder`);
      continue;
    }
    const found = await stat(file).catch(() => null);
    if (!found?.isFile()) problems.push(`${where}: file "${item.file}" does not exist`);
    items.push(item);
  }
  if (problems.length === 0 && items.length === 0) problems.push('set.jsonl has no items');
  if (problems.length > 0) throw new OcrSetError(problems);
  return items;
}

export interface ItemResult {
  id: string;
  kind: Kind;
  /** Null when the item has no text to compare (a code alone). */
  text: TextScore | null;
  identifiers: { expected: string[]; found: string[]; foundWithKb: string[]; addedNotExpected: string[] };
  codes: { expected: number; found: number };
  seconds: number;
  /** What was read (joined pages for a document). */
  read: string;
}

export interface Figures {
  items: number;
  characterAccuracy: number | null;
  identifierRecall: number | null;
  /** Recall when read tokens are resolved against a knowledge base holding the set's identifiers (see the header). */
  identifierRecallWithKb: number | null;
  /** Identifiers the resolution added that the item does not carry. */
  addedNotExpected: number;
  codeRecall: number | null;
}

export interface OcrEvalReport {
  set: string;
  subset: 'all' | 'ci';
  overall: Figures;
  byKind: Partial<Record<Kind, Figures>>;
  secondsPerItem: number;
  items: ItemResult[];
}

function figures(results: readonly ItemResult[]): Figures {
  const texts = results.flatMap((r) => (r.text ? [r.text] : []));
  const expectedIds = results.reduce((n, r) => n + r.identifiers.expected.length, 0);
  const foundIds = results.reduce((n, r) => n + r.identifiers.found.length, 0);
  const foundWithKb = results.reduce((n, r) => n + r.identifiers.foundWithKb.length, 0);
  const expectedCodes = results.reduce((n, r) => n + r.codes.expected, 0);
  const foundCodes = results.reduce((n, r) => n + r.codes.found, 0);
  return {
    items: results.length,
    characterAccuracy: texts.length > 0 ? characterAccuracy(texts) : null,
    identifierRecall: expectedIds > 0 ? foundIds / expectedIds : null,
    identifierRecallWithKb: expectedIds > 0 ? foundWithKb / expectedIds : null,
    addedNotExpected: results.reduce((n, r) => n + r.identifiers.addedNotExpected.length, 0),
    codeRecall: expectedCodes > 0 ? foundCodes / expectedCodes : null,
  };
}

async function evaluateItem(core: Core, folder: string, item: OcrSetItem, setKeys: ReadonlySet<string>): Promise<ItemResult> {
  const bytes = new Uint8Array(await readFile(path.resolve(folder, item.file)));
  const started = performance.now();
  let read: string;
  let identifiers: string[];
  let codes: { format: string; value: string }[] = [];
  let expectedText: string | null;
  if (item.pages) {
    const { document } = await core.home.services.ingest.ingestDocument({ bytes, filename: path.basename(item.file) });
    const pages = await core.home.store.getPages(document.id);
    read = pages.map((p) => p.text).join('\n');
    identifiers = extractIdentifiers(read);
    expectedText = item.pages.join('\n');
  } else {
    const result = await core.reading.readText(bytes);
    read = result.text;
    identifiers = result.identifiers;
    codes = result.codes;
    expectedText = item.text ?? null;
  }
  const seconds = (performance.now() - started) / 1000;
  // Pages are ingested, so their identifiers are the knowledge base's own: no resolution to do.
  const withKb = item.pages ? identifiers : resolveGluedIdentifiers(identifiers, [setKeys]);
  const expectedKeys = new Set(item.identifiers.map(normalizeIdentifier));
  const plainKeys = new Set(identifiers.map(normalizeIdentifier));
  const added = withKb.filter((id) => !plainKeys.has(normalizeIdentifier(id)));
  const wantCodes = item.codes ?? [];
  return {
    id: item.id,
    kind: item.kind,
    text: expectedText === null ? null : scoreText(expectedText, read),
    identifiers: {
      expected: item.identifiers,
      found: identifiersFound(item.identifiers, identifiers),
      foundWithKb: identifiersFound(item.identifiers, withKb),
      addedNotExpected: added.filter((id) => !expectedKeys.has(normalizeIdentifier(id))),
    },
    codes: { expected: wantCodes.length, found: wantCodes.filter((w) => codes.some((c) => c.format === w.format && c.value === w.value)).length },
    seconds,
    read,
  };
}

export async function evaluateOcr(core: Core, folder: string, items: readonly OcrSetItem[], subset: 'all' | 'ci'): Promise<OcrEvalReport> {
  const results: ItemResult[] = [];
  const setKeys = new Set(items.flatMap((item) => item.identifiers.map(normalizeIdentifier)));
  for (const item of items) results.push(await evaluateItem(core, folder, item, setKeys));
  const byKind: Partial<Record<Kind, Figures>> = {};
  for (const kind of KINDS) {
    const of = results.filter((r) => r.kind === kind);
    if (of.length > 0) byKind[kind] = figures(of);
  }
  return { set: folder, subset, overall: figures(results), byKind, secondsPerItem: results.reduce((n, r) => n + r.seconds, 0) / Math.max(1, results.length), items: results };
}

const pct = (v: number | null) => (v === null ? '   –  ' : `${(v * 100).toFixed(1).padStart(5)}%`);

export function formatOcrReport(r: OcrEvalReport): string {
  const rows = [['overall', r.overall] as const, ...KINDS.flatMap((k) => (r.byKind[k] ? [[k, r.byKind[k]!] as const] : []))];
  const lines = [
    `OCR eval: ${r.set} (${r.subset === 'ci' ? 'CI subset' : 'all items'}, ${r.overall.items} items, ${r.secondsPerItem.toFixed(2)} s per item)`,
    '',
    'kind      items  char accuracy  identifier recall  with KB  code recall',
    ...rows.map(([name, f]) => `${name.padEnd(9)} ${String(f.items).padStart(5)}  ${pct(f.characterAccuracy).padStart(13)}  ${pct(f.identifierRecall).padStart(17)}  ${pct(f.identifierRecallWithKb).padStart(7)}  ${pct(f.codeRecall).padStart(11)}`),
    '',
    `"with KB": read tokens OCR glued to a word resolved against a knowledge base holding the set's identifiers (as search and identifyPart do); added, not on the item: ${r.overall.addedNotExpected}`,
    '',
    'Items with errors:',
  ];
  const wrong = r.items.filter((i) => (i.text && i.text.edits > 0) || i.identifiers.found.length < i.identifiers.expected.length || i.identifiers.addedNotExpected.length > 0 || i.codes.found < i.codes.expected);
  if (wrong.length === 0) lines.push('  none');
  for (const i of wrong) {
    const missing = i.identifiers.expected.filter((id) => !i.identifiers.found.includes(id));
    const missingKb = i.identifiers.expected.filter((id) => !i.identifiers.foundWithKb.includes(id));
    const kb = missing.length > 0 ? ` (with KB: ${missingKb.length > 0 ? `missed ${missingKb.join(', ')}` : 'none missed'})` : '';
    const junk = i.identifiers.addedNotExpected.length > 0 ? `; added, not on the item: ${i.identifiers.addedNotExpected.join(', ')}` : '';
    lines.push(`  ${i.id}: ${i.text ? `${i.text.edits} edits / ${i.text.chars} chars` : 'no text'}${missing.length > 0 ? `; identifiers missed: ${missing.join(', ')}${kb}` : ''}${junk}${i.codes.found < i.codes.expected ? `; codes missed: ${i.codes.expected - i.codes.found}` : ''}; read ${JSON.stringify(i.read.slice(0, 120))}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface OcrEvalIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
}

function describeError(error: unknown): string {
  if (isAppError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function floor(value: string | undefined, name: string): number | null | Error {
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : new Error(`--${name} must be a number from 0 to 1; got "${value}".`);
}

export async function runOcrEvalCommand(argv: string[], io: Partial<OcrEvalIO> = {}): Promise<number> {
  const out: OcrEvalIO = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  let values: { help?: boolean; json?: boolean; subset?: string; 'min-char-accuracy'?: string; 'min-identifier-recall'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, subset: { type: 'string' }, 'min-char-accuracy': { type: 'string' }, 'min-identifier-recall': { type: 'string' } },
    }));
  } catch (error) {
    out.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return void out.stdout.write(USAGE), 0;
  if (positionals.length > 1) return void out.stderr.write(`Give at most one set folder.\n\n${USAGE}`), 2;
  if (values.subset !== undefined && values.subset !== 'ci') return void out.stderr.write(`--subset must be ci; got "${values.subset}".\n`), 2;
  const minChars = floor(values['min-char-accuracy'], 'min-char-accuracy');
  const minIds = floor(values['min-identifier-recall'], 'min-identifier-recall');
  for (const f of [minChars, minIds]) if (f instanceof Error) return void out.stderr.write(`${f.message}\n`), 2;

  const folder = path.resolve(positionals[0] ?? DEFAULT_OCR_SET);
  let items: OcrSetItem[];
  try {
    items = await loadOcrSet(folder);
  } catch (error) {
    if (!(error instanceof OcrSetError)) throw error;
    out.stderr.write(`fieldscope eval ocr: the set in ${folder} cannot be used:\n${error.problems.map((p) => `  ${p}`).join('\n')}\n`);
    return 2;
  }
  const subset = values.subset === 'ci' ? 'ci' : 'all';
  if (subset === 'ci') items = items.filter((i) => i.ci === true);
  if (items.length === 0) return void out.stderr.write(`fieldscope eval ocr: the set in ${folder} has no items marked "ci".\n`), 2;

  let scratch: ThrowawayCore;
  try {
    const userConfig = loadConfig(out.env);
    if (!userConfig.ocr.enabled) throw new Error('OCR=off: there is nothing to measure. Unset OCR or set OCR=on.');
    scratch = await openThrowawayCore(userConfig, 'ocr');
  } catch (error) {
    out.stderr.write(`fieldscope eval ocr cannot run: ${describeError(error)}\n`);
    return 1;
  }

  try {
    const report = await evaluateOcr(scratch.core, folder, items, subset);
    out.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatOcrReport(report));
    const below: string[] = [];
    if (typeof minChars === 'number' && (report.overall.characterAccuracy ?? 0) < minChars) below.push(`character accuracy ${pct(report.overall.characterAccuracy).trim()} is below --min-char-accuracy ${minChars}`);
    if (typeof minIds === 'number' && (report.overall.identifierRecall ?? 0) < minIds) below.push(`identifier recall ${pct(report.overall.identifierRecall).trim()} is below --min-identifier-recall ${minIds}`);
    if (below.length > 0) {
      out.stderr.write(`fieldscope eval ocr: ${below.join('; ')}.\n`);
      return 3;
    }
    return 0;
  } catch (error) {
    out.stderr.write(`fieldscope eval ocr failed: ${describeError(error)}\n`);
    return 1;
  } finally {
    await scratch.dispose();
  }
}
