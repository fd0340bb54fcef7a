/**
 * The answer without a language model: the sentences or numbered steps of the top sources that
 * best match the question, each cited. Used when no model is configured, or when it fails. Pure.
 *
 * What it quotes must read as an answer: figure label runs ("1Casing 2 Impeller 3150-07 3
 * Mechanical seal…"), captions ("Figure 2: …"), table rows and running headers are skipped, and
 * when the best match is a step of a numbered procedure the steps that follow it are quoted too,
 * in order, so "how do I remove the impeller" gets the removal steps rather than one line. A
 * section heading that pdfjs glued onto a caption or label line ("…exploded view Removal 1. …")
 * is kept and quoted before the first step of its procedure.
 * It reads the page's whole text (a source's text may be cut for the prompt).
 */
import { extractIdentifiers, normalizeIdentifier } from '../search/identifiers.js';
import { contentTerms } from '../search/snippet.js';
import type { Source } from './sources.js';

export function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    // A sentence ends at . ! ? after a word (not after a step number like "1."); numbered steps start a sentence.
    .split(/(?<=[\p{L})\]"'%°][.!?])\s+(?=[\p{Lu}\d"(])|\s(?=\d{1,2}\.\s)/u)
    .map((s) => s.trim())
    .filter((s) => s.length >= 12 && s.length <= 600);
}

const STEP = /^(\d{1,2})\.\s+\S/;

/**
 * Text that does not read as a sentence or a step: a caption, a run of figure labels (numbers
 * glued to words, more numbers than words), a table row, a running header.
 */
export function isDebris(sentence: string): boolean {
  if (/(?:^|\s)(?:figure|fig\.|table)\s*\d+\s*:/i.test(sentence) || /^(?:figure|fig\.|table)\s*\d+\s*\./i.test(sentence)) return true;
  // A run of part numbers is a parts list or a table row, not an answer.
  if (extractIdentifiers(sentence).length >= 3) return true;
  // "1Casing", "14Drain plug": label numbers glued to the word they label.
  if ((sentence.match(/(?:^|\s)\d+\p{Lu}\p{Ll}/gu) ?? []).length >= 1) return true;
  if (/\bpage \d+ of \d+\b/i.test(sentence) || (sentence.match(/\|/g) ?? []).length >= 2) return true;
  const tokens = sentence.replace(/^\d{1,2}\.\s+/, '').split(/\s+/).filter(Boolean);
  const words = tokens.filter((t) => /^\p{L}[\p{L}'’-]*[.,;:!?)]*$/u.test(t));
  const numeric = tokens.filter((t) => /\d/.test(t));
  const lowerWords = words.filter((t) => /^\p{Ll}{3,}/u.test(t));
  // Prose has small words in lower case; a list of part numbers and values has few.
  if (lowerWords.length < 2) return true;
  return numeric.length > words.length * 0.6;
}

const HEADING_WORD = /^\p{L}[\p{L}'’-]*$/u;
const MAX_HEADING_WORDS = 6;

/**
 * The section heading a sentence carries just before a procedure's first step, or null. pdfjs
 * puts a heading on the line of whatever precedes it: "…exploded view (kit 4471-B) Removal" (the
 * tail of a caption or label run, otherwise debris) or "3. Installation" (a numbered heading,
 * too short to read as a sentence). Only asked when the next sentence is step 1, so a heading is
 * never guessed from text that is not followed by a procedure.
 */
export function headingBeforeSteps(sentence: string): string | null {
  const tokens = sentence.trim().split(/\s+/);
  const numbered = /^\d{1,2}\.$/.test(tokens[0] ?? '') ? tokens.slice(1) : null;
  if (numbered) {
    // "3. Installation", "5. Seat and stem seal replacement": a few words, no sentence end.
    return numbered.length > 0 && numbered.length <= MAX_HEADING_WORDS && numbered.every((t) => HEADING_WORD.test(t)) && /^\p{Lu}/u.test(numbered[0]!) ? numbered.join(' ') : null;
  }
  // The trailing run of plain words, from its last capitalised word: "(kit 4471-B) Removal" → "Removal".
  let start = tokens.length;
  while (start > 0 && HEADING_WORD.test(tokens[start - 1]!) && tokens.length - start < MAX_HEADING_WORDS) start--;
  const run = tokens.slice(start);
  const capital = run.map((t) => /^\p{Lu}/u.test(t)).lastIndexOf(true);
  if (capital < 0) return null;
  const heading = run.slice(capital);
  // What stays before it must be debris (a caption, labels); a whole sentence is not a heading.
  const before = tokens.slice(0, start + capital).join(' ');
  if (heading.length === tokens.length) return /[.!?:]$/.test(sentence) ? null : heading.join(' ');
  return isDebris(before) ? heading.join(' ') : null;
}

/** Words compared by their first five letters, so "remove" finds "removal" and "install" finds "installation". */
function stem(word: string): string {
  return word.length > 5 ? word.slice(0, 5) : word;
}

function stepNumber(sentence: string): number | null {
  const m = STEP.exec(sentence);
  return m ? Number(m[1]) : null;
}

/** A sentence worth quoting, with the heading of the procedure it opens (if any). */
interface Quotable {
  sentence: string;
  heading: string | null;
}

/** The page's quotable sentences: debris dropped, a heading glued into debris kept for the step it introduces. */
function quotable(text: string): Quotable[] {
  const sentences = splitSentences(text);
  const out: Quotable[] = [];
  let heading: string | null = null;
  sentences.forEach((sentence, i) => {
    const next = sentences[i + 1];
    const found = next !== undefined && stepNumber(next) === 1 ? headingBeforeSteps(sentence) : null;
    if (found) {
      // The sentence is the heading alone, or debris ending in it: only the heading is kept.
      heading = found;
      return;
    }
    if (isDebris(sentence)) return;
    out.push({ sentence, heading: stepNumber(sentence) === 1 ? heading : null });
    if (stepNumber(sentence) === 1) heading = null;
  });
  return out;
}

/** A numbered step is one unit with the sentences that follow it up to the next step (at most MAX_STEP_CHARS). */
function withWholeSteps(sentences: Quotable[]): { sentences: string[]; heading: string | null }[] {
  const out: { sentences: string[]; heading: string | null }[] = [];
  let inStep = false;
  for (const { sentence, heading } of sentences) {
    const last = out.at(-1);
    if (stepNumber(sentence) !== null) {
      out.push({ sentences: [sentence], heading });
      inStep = true;
    } else if (inStep && last && last.sentences.join(' ').length + sentence.length < MAX_STEP_CHARS && /[.!?]$/.test(sentence)) {
      last.sentences.push(sentence);
    } else {
      out.push({ sentences: [sentence], heading });
      inStep = false;
    }
  }
  return out;
}

const MAX_STEP_CHARS = 500;

/** Steps of a procedure after the one picked: the same source, numbered on from it, at most this many. */
const MAX_FOLLOWING_STEPS = 3;

export function extractiveAnswer(question: string, sources: readonly Source[], maxSentences = 3): { text: string; cited: number[] } {
  const questionIds = extractIdentifiers(question);
  const ids = new Set(questionIds.map(normalizeIdentifier));
  // The pieces of an identifier ("p", "200" of "P-200") are not words of the question: the
  // identifier counts once, as an identifier.
  const idPieces = new Set(questionIds.flatMap((id) => id.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []));
  const terms = [...new Set(contentTerms(question).filter((t) => !idPieces.has(t)).map(stem))];
  const units: { sentence: string; heading: string | null; marker: number; score: number; order: number; source: number; index: number }[] = [];
  let order = 0;
  sources.forEach((source, s) => {
    const text = source.hit.page?.text ?? source.hit.photo?.caption ?? source.text;
    withWholeSteps(quotable(text)).forEach(({ sentences: group, heading }, index) => {
      // A unit scores as its best sentence (its heading counts as one): a long step is not favoured for its length.
      const score = Math.max(
        ...[...group, ...(heading ? [heading] : [])].map((sentence) => {
          const words = new Set((sentence.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).map(stem));
          const termHits = terms.filter((t) => words.has(t)).length;
          const idHits = extractIdentifiers(sentence).filter((id) => ids.has(normalizeIdentifier(id))).length;
          // An identifier names what the question is about; the words say what about it.
          return termHits + 1.5 * idHits;
        }),
      );
      // Earlier sources ranked higher by search: a small preference, not a veto.
      units.push({ sentence: group.join(' '), heading, marker: source.marker, score: score - 0.1 * (source.marker - 1), order: order++, source: s, index });
    });
  });
  const ranked = units.filter((u) => u.score > 0).sort((a, b) => b.score - a.score || a.order - b.order);
  let picked = ranked.slice(0, 1);
  const best = picked[0];
  const first = best ? stepNumber(best.sentence) : null;
  if (best && first !== null) {
    // A step answers best with the steps that follow it.
    const following = units.filter((u) => u.source === best.source && u.index > best.index).slice(0, MAX_FOLLOWING_STEPS);
    let expected = first + 1;
    for (const u of following) {
      if (stepNumber(u.sentence) !== expected) break;
      picked.push(u);
      expected++;
    }
  } else {
    picked = ranked.slice(0, maxSentences);
  }
  if (picked.length === 0) picked = units.slice(0, 1);
  if (picked.length === 0) return { text: '', cited: [] };
  picked.sort((a, b) => a.order - b.order);
  const cited = [...new Set(picked.map((p) => p.marker))];
  return { text: picked.map((p) => `${p.heading ? `${p.heading}: ` : ''}${p.sentence} [${p.marker}]`).join(' '), cited };
}
