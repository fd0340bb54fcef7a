/**
 * CLIP tokenization from the model's own tokenizer.json (@huggingface/tokenizers).
 *
 * Two things the library does not do for CLIP, done here:
 *  - the original OpenAI tokenizer un-escapes HTML entities twice before BPE (`&amp;` → `&`);
 *  - truncation must keep the end-of-text token, because CLIP pools the text embedding at
 *    that token. Cutting it off (as a plain max_length truncation does) silently gives a wrong
 *    embedding for every long text, so we truncate the content and re-append the end token.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { decodeHTML } from 'entities';

export interface TokenizerFiles {
  tokenizerJson: unknown;
  tokenizerConfigJson?: unknown;
}

export interface TextTensorSpec {
  /** Window length of the text encoder (77 for CLIP). */
  contextLength: number;
  /** When set, every row is padded to exactly this length (graphs with a fixed [N,77] input). */
  fixedLength: number | null;
  /** Id used for padding. */
  padId: number;
}

export interface TokenBatch {
  ids: BigInt64Array;
  attentionMask: BigInt64Array;
  batch: number;
  length: number;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  private readonly tokenizer: Tokenizer;

  constructor(files: TokenizerFiles) {
    const json = files.tokenizerJson as ConstructorParameters<typeof Tokenizer>[0];
    const config = (files.tokenizerConfigJson ?? {}) as ConstructorParameters<typeof Tokenizer>[1];
    this.tokenizer = new Tokenizer(json, config);
    const probe = this.tokenizer.encode('').ids;
    if (probe.length !== 2) {
      throw new Error('tokenizer.json does not add start and end tokens around the text: not a CLIP tokenizer');
    }
    [this.bosId, this.eosId] = probe as [number, number];
  }

  /** Token ids including start and end tokens, at most `contextLength` long (end token kept). */
  encode(text: string, contextLength: number): number[] {
    const cleaned = decodeHTML(decodeHTML(text)).trim();
    const ids = this.tokenizer.encode(cleaned).ids;
    if (ids.length <= contextLength) return ids;
    const content = ids.slice(1, contextLength - 1);
    return [this.bosId, ...content, this.eosId];
  }

  /** Encodes a batch into padded int64 tensors with an attention mask. */
  encodeBatch(texts: readonly string[], spec: TextTensorSpec): TokenBatch {
    return padBatch(
      texts.map((t) => this.encode(t, spec.contextLength)),
      spec,
    );
  }
}

/** Pads token rows to the longest row (or to `fixedLength`) and builds the attention mask. */
export function padBatch(rows: readonly number[][], spec: TextTensorSpec): TokenBatch {
  const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
  const length = spec.fixedLength ?? longest;
  const ids = new BigInt64Array(rows.length * length).fill(BigInt(spec.padId));
  const attentionMask = new BigInt64Array(rows.length * length);
  rows.forEach((row, r) => {
    if (row.length > length) throw new Error(`token row of ${row.length} exceeds ${length}`);
    for (let i = 0; i < row.length; i++) {
      ids[r * length + i] = BigInt(row[i]!);
      attentionMask[r * length + i] = 1n;
    }
  });
  return { ids, attentionMask, batch: rows.length, length };
}
