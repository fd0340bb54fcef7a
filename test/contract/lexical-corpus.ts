/**
 * The random keyword corpus the lexical tests share (the top-k plan against FTS5, the worker
 * against the calling thread): a small maintenance vocabulary drawn Zipf-weighted, so the first
 * few words land on most pages (FTS5 floors their idf) and the tail on a few, with part numbers
 * (multi-token phrases) on some pages and in some queries. Seeded: the same corpus every run.
 */
import { seededRandom } from '../../src/demo/seeded-random.js';

export const WORDS = 'pump valve seal gasket bearing shaft impeller motor filter pressure flow sensor coupling housing flange bolt torque inspect replace remove install clean check drain lubricate grease leak noise wear crack corrosion pipe hose clamp bracket cover panel relay fuse cable wire breaker belt gear chain fan damper alarm fault reset'.split(' ');
export const PARTS = ['P-1200', '4471-B', 'SOP-12', 'VLV-300-A'];

export interface LexicalCorpus {
  random: () => number;
  /** One word, Zipf-weighted. */
  zipf: () => string;
  /** A page's words: 4–29 Zipf words, a part number among them on one page in five. */
  pageWords: () => string[];
  /** A query's terms: 1–4 words (half Zipf, half uniform), a part number in one query in five. */
  queryTerms: () => string[];
}

export function lexicalCorpus(seed: number): LexicalCorpus {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const zipf = (): string => {
    const r = random() * 4.5;
    let c = 0;
    for (let i = 0; i < WORDS.length; i++) if ((c += 1 / (i + 1)) >= r) return WORDS[i]!;
    return WORDS.at(-1)!;
  };
  const pageWords = (): string[] => {
    const words = Array.from({ length: 4 + Math.floor(random() * 26) }, zipf);
    if (random() < 0.2) words.splice(Math.floor(random() * words.length), 0, pick(PARTS));
    return words;
  };
  const queryTerms = (): string[] => {
    const terms = Array.from({ length: 1 + Math.floor(random() * 4) }, () => (random() < 0.5 ? zipf() : pick(WORDS)));
    if (random() < 0.2) terms.push(pick(PARTS));
    return terms;
  };
  return { random, zipf, pageWords, queryTerms };
}
