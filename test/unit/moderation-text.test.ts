import { describe, expect, it } from 'vitest';
import type { ClipEncoder } from '../../src/clip/clip-encoder.js';
import { ContentBlockedError } from '../../src/moderation/errors.js';
import { ModerationService } from '../../src/moderation/moderation-service.js';
import { loadPolicy, parsePolicy } from '../../src/moderation/policy.js';
import { foldText, TermMatcher } from '../../src/moderation/term-matcher.js';

const matcher = new TermMatcher(['ass', 'bleed', 'shit', 'bad word', 'scheiße', 'κακός', '坏蛋', 'naïve'], ['bleed valve', 'bleed screw', 'ass hat rack']);
const blocked = (text: string) => matcher.screen(text).matchedTerms;

/** Text screening needs no model: the service is built with an encoder it never calls. */
const noEncoder = new Proxy({} as ClipEncoder, {
  get() {
    throw new Error('text screening must not touch the encoder');
  },
});

describe('blocked terms: whole words, case-insensitive', () => {
  it.each([
    ['What an ass.', ['ass']],
    ['ASS', ['ass']],
    ['Ass-backwards wiring', ['ass']],
    ['"ass"', ['ass']],
    ['this is shit and an ass', ['shit', 'ass']],
    ["the ass's fault", ['ass']],
  ])('%j → %j', (text, terms) => {
    expect(blocked(text)).toEqual(terms);
    expect(matcher.screen(text).decision).toBe('block');
  });

  it.each(['Assemble the pump', 'Check the bypass valve', 'the class of the assembly', 'Massive compressor', 'passes the test', 'Shitake mushrooms', 'bleeding edge', 'Cassette filter', 'Embassy', 'assess the damage'])(
    'innocent words that contain a term are allowed: %j',
    (text) => {
      expect(matcher.screen(text)).toEqual({ decision: 'allow', matchedTerms: [] });
    },
  );

  it('matches multi-word terms across any separators, and their words written together', () => {
    expect(blocked('a bad word here')).toEqual(['bad word']);
    expect(blocked('a BAD, word here')).toEqual(['bad word']);
    expect(blocked('a badword here')).toEqual(['bad word']);
    expect(blocked('a bad sword')).toEqual([]);
  });

  it('reports each term once, in order of first occurrence, spelt as in the policy', () => {
    expect(blocked('SHIT, an ass, more shit')).toEqual(['shit', 'ass']);
  });

  it('allows empty and blank text, and everything when there are no blocked terms', () => {
    expect(matcher.screen('')).toEqual({ decision: 'allow', matchedTerms: [] });
    expect(matcher.screen('   \n ')).toEqual({ decision: 'allow', matchedTerms: [] });
    const none = new TermMatcher([], ['bleed valve']);
    expect(none.active).toBe(false);
    expect(none.screen('shit ass')).toEqual({ decision: 'allow', matchedTerms: [] });
  });
});

describe('allowed terms take precedence', () => {
  it('exempts a blocked word inside an allowed phrase', () => {
    expect(blocked('Open the bleed valve slowly')).toEqual([]);
    expect(blocked('Loosen the BLEED-SCREW')).toEqual([]);
    expect(blocked('the ass hat rack is full')).toEqual([]);
  });

  it('only where the allowed phrase is: a blocked word elsewhere still counts', () => {
    expect(blocked('Open the bleed valve, then let it bleed')).toEqual(['bleed']);
    expect(blocked('bleed valve and an ass')).toEqual(['ass']);
  });

  it('does not assemble an allowed phrase across punctuation', () => {
    expect(blocked('Do not bleed. Valve closed.')).toEqual(['bleed']);
  });

  it('also exempts the evasive spellings of an allowed phrase', () => {
    expect(blocked('the b l e e d valve')).toEqual([]);
    expect(blocked('the bl33d valve')).toEqual([]);
  });
});

describe('simple evasions', () => {
  it.each([
    ['a s s', 'ass'],
    ['a.s.s', 'ass'],
    ['a - s - s', 'ass'],
    ['s_h_i_t happens', 'shit'],
    ['S H I T', 'shit'],
    ['sh1t', 'shit'],
    ['5h1t', 'shit'],
    ['SH!T and sh1t', 'shit'],
    ['bl33d', 'bleed'],
    ['4ss', 'ass'],
    ['s h 1 t', 'shit'],
    ['b4d w0rd', 'bad word'],
    ['sh\u200bit', 'shit'],
    ['s\u00adhit', 'shit'],
    ['ｓｈｉｔ', 'shit'],
    ['𝐬𝐡𝐢𝐭', 'shit'],
    ['shït', 'shit'],
  ])('%j is read as %j', (text, term) => {
    expect(blocked(text)).toContain(term);
  });

  it('does not join spaced letters across line breaks or long gaps', () => {
    expect(blocked('a\ns\ns')).toEqual([]);
    expect(blocked('a ---- s ---- s')).toEqual([]);
  });

  it('does not read part numbers and plain numbers as leetspeak', () => {
    for (const text of ['Pump A55 at 455 psi', 'valve 5H-17', 'model 4-55', 'A 5 5']) expect(blocked(text), text).toEqual([]);
  });

  it('spaced-out innocent words stay innocent', () => {
    expect(blocked('a s s e m b l e')).toEqual([]);
    expect(blocked('I was a s ... never mind')).toEqual([]);
  });
});

describe('Unicode', () => {
  it('folds case beyond ASCII, including ß and final sigma', () => {
    expect(blocked('So eine Scheiße!')).toEqual(['scheiße']);
    expect(blocked('SO EINE SCHEISSE')).toEqual(['scheiße']);
    expect(blocked('Ο ΚΑΚΌΣ')).toEqual(['κακός']);
    expect(foldText('İSTANBUL')).toBe('istanbul');
  });

  it('treats accented letters as letters, so words do not split at them', () => {
    expect(blocked('naïve')).toEqual(['naïve']);
    expect(blocked('naive')).toEqual(['naïve']);
    expect(blocked('bleedé')).toEqual([]);
    expect(blocked('éass')).toEqual([]);
    expect(blocked('Ärsche und ass')).toEqual(['ass']);
  });

  it('matches terms in scripts written without spaces as character sequences', () => {
    expect(blocked('你是坏蛋吗')).toEqual(['坏蛋']);
    expect(blocked('坏人')).toEqual([]);
  });

  it('does not split words at letters of other scripts', () => {
    expect(blocked('ассемблер')).toEqual([]);
    expect(blocked('шitass')).toEqual([]);
  });
});

describe('ModerationService.screenText', () => {
  const service = new ModerationService(noEncoder, parsePolicy({ blockedTerms: ['bleed', 'ass'], allowedTerms: ['bleed valve'] }, 'test'));

  it('screens without the model, with allowed terms taking precedence', async () => {
    expect(service.screenText('close the bleed valve')).toEqual({ decision: 'allow', matchedTerms: [] });
    expect(service.screenText('let it bleed')).toEqual({ decision: 'block', matchedTerms: ['bleed'] });
    expect(service.screensImages).toBe(false);
    expect(await service.screenImage(new Uint8Array([1, 2, 3]))).toEqual({ decision: 'allow', scores: [], reasons: [] });
  });

  it('refuses with CONTENT_BLOCKED naming the term, not the text', () => {
    let error: unknown;
    try {
      service.assertTextAllowed('you 4 s s, let it b.l.e.e.d', 'question');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ContentBlockedError);
    const e = error as ContentBlockedError;
    expect(e.code).toBe('CONTENT_BLOCKED');
    expect(e.category).toBe('BAD_USER_INPUT');
    expect(e.message).toBe('The question was refused by the moderation policy (blocked terms "ass", "bleed").');
    expect(e.message).not.toContain('4 s s');
    expect(e.details).toEqual({ subject: 'question', labels: [], terms: ['ass', 'bleed'] });
    expect(() => service.assertTextAllowed('bleed valve', 'answer')).not.toThrow();
  });
});

describe('the shipped default policy', () => {
  it('blocks profanity and its evasions but not field-equipment names', async () => {
    const service = new ModerationService(noEncoder, await loadPolicy());
    expect(service.screenText('this f u c k i n g pump').matchedTerms).toEqual(['fucking']);
    expect(service.screenText('what a piece of sh1t').matchedTerms).toEqual(['shit']);
    expect(service.screenText('A55HOLE').matchedTerms).toEqual(['asshole']);
    expect(service.screenText('the stop-cock and the ball cock').matchedTerms).toEqual([]);
    for (const ok of ['Deburr with a bastard file', 'Open the drain cock and the gauge cock', 'Replace the petcock and the stopcock', 'Assemble the cocktail shaker', 'Scunthorpe depot', 'Shitake', 'Dickens']) {
      expect(service.screenText(ok), ok).toEqual({ decision: 'allow', matchedTerms: [] });
    }
    expect(service.screenText('you bastard').matchedTerms).toEqual(['bastard']);
  });
});

describe('TextStreamGuard (streamed answers)', () => {
  const service = new ModerationService(noEncoder, parsePolicy({ blockedTerms: ['ass', 'cock'], allowedTerms: ['cock valve'] }, 'test'));
  const stream = (deltas: string[]) => {
    const guard = service.streamGuard();
    const sent = deltas.map((d) => guard.push(d));
    const end = guard.finish();
    return { sent: sent.join('') + end.rest, perDelta: sent, end };
  };

  it('releases clean text at word boundaries and everything at the end', () => {
    const { sent, perDelta, end } = stream(['Close the ', 'valve, then ass', 'emble the pump.', ' Done']);
    expect(perDelta).toEqual(['Close the ', 'valve, then ', 'assemble the pump.', ' ']);
    expect(end.rest).toBe('Done');
    expect(sent).toBe('Close the valve, then assemble the pump. Done');
    expect(end.decision).toBe('allow');
  });

  it('never sends a blocked term, and withholds the rest', () => {
    const { sent, end } = stream(['The pump ', 'is an ', 'ass and ', 'more text after it.']);
    expect(sent).toBe('The pump is an ');
    expect(end).toMatchObject({ decision: 'block', matchedTerms: ['ass'], rest: '' });
  });

  it('holds a suspicious word until an allowed phrase can excuse it, then releases', () => {
    const { sent, end } = stream(['Open the cock ', 'valve ', 'slowly.']);
    expect(sent).toBe('Open the cock valve slowly.');
    expect(end.decision).toBe('allow');
  });

  it('releases long text without word boundaries, keeping a tail back', () => {
    const guard = service.streamGuard();
    const out = guard.push('设'.repeat(300));
    expect(out.length).toBe(300 - 64);
    expect(guard.finish().rest.length).toBe(64);
  });

  it('still catches a term after a long clean stream (screening looks back over a window)', () => {
    const clean = Array.from({ length: 400 }, (_, i) => `word${i} `);
    const { sent, end } = stream([...clean, 'then a', 's', 's here ', 'and more.']);
    expect(sent).toBe(`${clean.join('')}then `);
    expect(end).toMatchObject({ decision: 'block', matchedTerms: ['ass'] });
  });

  it('streams straight through when there are no blocked terms', () => {
    const guard = new ModerationService(noEncoder, parsePolicy({}, 'empty')).streamGuard();
    expect(guard.push('anything at a')).toBe('anything at a');
    expect(guard.finish()).toEqual({ decision: 'allow', matchedTerms: [], rest: '' });
  });
});
