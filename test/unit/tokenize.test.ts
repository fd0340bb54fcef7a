import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClipTokenizer, padBatch } from '../../src/clip/tokenize.js';
import { REPO_ROOT } from '../helpers/shared.js';

const tiny = path.join(REPO_ROOT, 'models', 'tiny-clip');
const read = (f: string) => JSON.parse(readFileSync(path.join(tiny, f), 'utf8')) as unknown;

describe('padBatch', () => {
  it('pads to the longest row with the pad id and masks the padding', () => {
    const b = padBatch([[1, 5, 2], [1, 2]], { contextLength: 77, fixedLength: null, padId: 2 });
    expect(b.length).toBe(3);
    expect(Array.from(b.ids, Number)).toEqual([1, 5, 2, 1, 2, 2]);
    expect(Array.from(b.attentionMask, Number)).toEqual([1, 1, 1, 1, 1, 0]);
  });

  it('pads to a fixed length for graphs that want [N, 77] (open_clip)', () => {
    const b = padBatch([[1, 2]], { contextLength: 77, fixedLength: 5, padId: 0 });
    expect(Array.from(b.ids, Number)).toEqual([1, 2, 0, 0, 0]);
  });
});

describe('ClipTokenizer on the bundled tiny tokenizer', () => {
  const tokenizer = new ClipTokenizer({ tokenizerJson: read('tokenizer.json'), tokenizerConfigJson: read('tokenizer_config.json') });
  const reference = read('reference.json') as { texts: { text: string; input_ids: number[] }[] };

  it('finds the start and end ids from the tokenizer itself', () => {
    expect([tokenizer.bosId, tokenizer.eosId]).toEqual([1134, 1135]);
  });

  it('matches the ids of the script that trained it (reference.json)', () => {
    for (const r of reference.texts) expect(tokenizer.encode(r.text, 77), r.text).toEqual(r.input_ids);
  });

  it('un-escapes HTML entities the way the original CLIP tokenizer does', () => {
    expect(tokenizer.encode('a&amp;b', 77)).toEqual(tokenizer.encode('a&b', 77));
  });

  it('truncates to the window and keeps the end token', () => {
    const ids = tokenizer.encode('pump seal '.repeat(100), 10);
    expect(ids).toHaveLength(10);
    expect(ids[0]).toBe(1134);
    expect(ids[9]).toBe(1135);
  });

  it('refuses a tokenizer that does not add start/end tokens', () => {
    const json = read('tokenizer.json') as Record<string, unknown>;
    expect(() => new ClipTokenizer({ tokenizerJson: { ...json, post_processor: null } })).toThrow(/not a CLIP tokenizer/);
  });
});
