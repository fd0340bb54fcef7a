import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModerationPolicyError } from '../../src/moderation/errors.js';
import {
  DEFAULT_LABEL_TEMPLATES,
  DEFAULT_NEUTRAL_PROMPTS,
  DEFAULT_POLICY_FILE,
  DISABLED_POLICY,
  loadPolicy,
  parsePolicy,
  resolvePolicy,
} from '../../src/moderation/policy.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fieldscope-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writePolicy(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

/** The error a policy file fails with (fails the test if it loads). */
async function loadError(file: string): Promise<ModerationPolicyError> {
  try {
    await loadPolicy(file);
  } catch (error) {
    expect(error).toBeInstanceOf(ModerationPolicyError);
    return error as ModerationPolicyError;
  }
  throw new Error(`${file} loaded but should not have`);
}

const label = (over: Record<string, unknown> = {}) => ({ label: 'nudity', block: 0.9, review: 0.6, ...over });

describe('the shipped default policy', () => {
  it('lives in the top-level moderation/ folder, found from the source file', () => {
    expect(DEFAULT_POLICY_FILE).toBe(path.resolve(import.meta.dirname, '../../moderation/default-policy.json'));
  });

  it('loads, and covers the documented labels with sane thresholds', async () => {
    const policy = await loadPolicy();
    expect(policy.source).toBe(DEFAULT_POLICY_FILE);
    expect(policy.imageLabels.map((l) => l.label)).toEqual(['nudity', 'graphic violence', 'weapon', "a person's face", 'vehicle licence plate']);
    for (const l of policy.imageLabels) {
      expect(0 <= l.review && l.review <= l.block && l.block <= 1, l.label).toBe(true);
      expect(l.prompts.length, l.label).toBeGreaterThan(0);
    }
    // Privacy and weapons are reviewed, never blocked.
    for (const name of ['weapon', "a person's face", 'vehicle licence plate']) expect(policy.imageLabels.find((l) => l.label === name)?.block).toBe(1);
    expect(policy.blockedTerms.length).toBeGreaterThan(0);
    expect(policy.allowedTerms).toContain('bastard file');
  });
});

describe('valid policy files', () => {
  it('fills in defaults: templates for labels without prompts, neutral prompts, empty lists', async () => {
    const policy = await loadPolicy(await writePolicy('minimal.json', { imageLabels: [label({ label: 'weapons' })] }));
    expect(policy.imageLabels).toEqual([{ label: 'weapons', prompts: DEFAULT_LABEL_TEMPLATES.map((t) => t.replace('{}', 'weapons')), block: 0.9, review: 0.6 }]);
    expect(policy.neutralPrompts).toEqual(DEFAULT_NEUTRAL_PROMPTS);
    expect(policy.blockedTerms).toEqual([]);
    expect(policy.allowedTerms).toEqual([]);
    expect(policy.description).toBeNull();
  });

  it('keeps explicit prompts, templates and neutral prompts, trimmed', async () => {
    const policy = parsePolicy(
      {
        version: 1,
        description: 'mine',
        templates: ['{} in a plant.'],
        neutralPrompts: [' a pump. '],
        imageLabels: [label({ label: 'face', prompts: [' a selfie. '] }), label({ label: 'plate' })],
        blockedTerms: ['bleed', 'bleed'],
        allowedTerms: ['bleed valve'],
      },
      'inline',
    );
    expect(policy.imageLabels.map((l) => l.prompts)).toEqual([['a selfie.'], ['plate in a plant.']]);
    expect(policy.neutralPrompts).toEqual(['a pump.']);
    expect(policy.blockedTerms).toEqual(['bleed']);
    expect(policy.description).toBe('mine');
  });

  it.each([
    [0, 0],
    [0, 1],
    [0.5, 0.5],
    [1, 1],
  ])('accepts review %d ≤ block %d', (review, block) => {
    expect(parsePolicy({ imageLabels: [label({ review, block })] }).imageLabels[0]).toMatchObject({ review, block });
  });

  it('an empty object is a policy that screens nothing', () => {
    expect(parsePolicy({}, 'empty')).toMatchObject({ imageLabels: [], blockedTerms: [], allowedTerms: [] });
  });
});

describe('invalid policy files: readable errors naming the file and the field', () => {
  it.each([
    ['a block threshold over 1', { imageLabels: [label({ block: 1.01 })] }, 'imageLabels[0] ("nudity").block: must be between 0 and 1; got 1.01'],
    ['a negative review threshold', { imageLabels: [label({ review: -0.1 })] }, 'imageLabels[0] ("nudity").review: must be between 0 and 1; got -0.1'],
    ['review above block', { imageLabels: [label(), label({ label: 'weapon', review: 0.95, block: 0.8 })] }, 'imageLabels[1] ("weapon").review: must not exceed block (0.8); got 0.95'],
    ['a threshold given as a string', { imageLabels: [label({ block: '0.9' })] }, 'imageLabels[0] ("nudity").block: must be a number between 0 and 1'],
    ['a missing threshold', { imageLabels: [{ label: 'nudity', block: 0.9 }] }, 'imageLabels[0] ("nudity").review: must be a number between 0 and 1'],
    ['a blank label', { imageLabels: [label({ label: '  ' })] }, 'imageLabels[0].label: must not be blank'],
    ['duplicate labels', { imageLabels: [label(), label({ label: 'Nudity' })] }, 'imageLabels[1] ("Nudity").label: duplicates imageLabels[0]'],
    ['an empty prompt list', { imageLabels: [label({ prompts: [] })] }, 'imageLabels[0] ("nudity").prompts: must list at least one prompt, or be left out to use the templates'],
    ['a blank prompt', { imageLabels: [label({ prompts: ['ok', ''] })] }, 'imageLabels[0] ("nudity").prompts[1]: must not be blank'],
    ['an unknown field in a label', { imageLabels: [label({ blok: 0.5 })] }, 'imageLabels[0] ("nudity"): Unrecognized key: "blok"'],
    ['a misspelt top-level field', { blockTerms: ['x'] }, '(root): Unrecognized key: "blockTerms"'],
    ['a term with no letters or digits', { blockedTerms: ['ok', '!!!'] }, 'blockedTerms[1]: has no letters or digits, so it could never match'],
    ['a term that is not a string', { allowedTerms: [42] }, 'allowedTerms[0]: must be a string'],
    ['a template without {}', { templates: ['a photo'] }, 'templates[0]: must contain "{}" where the label goes'],
    ['an unknown version', { version: 2 }, 'version: must be 1 (the only format version)'],
    ['imageLabels not a list', { imageLabels: { nudity: 0.9 } }, 'imageLabels: Invalid input: expected array, received object'],
  ])('%s', async (name, content, issue) => {
    const file = await writePolicy(`${name.replace(/\W+/g, '-')}.json`, content);
    const error = await loadError(file);
    expect(error.code).toBe('MODERATION_POLICY_INVALID');
    expect(error.category).toBe('CONFIGURATION');
    expect(error.source).toBe(file);
    expect(error.issues).toContain(issue);
    expect(error.message).toContain(`Invalid moderation policy ${file}:`);
    expect(error.message).toContain(`  - ${issue}`);
  });

  it('lists every problem at once', async () => {
    const error = await loadError(await writePolicy('many.json', { imageLabels: [label({ block: 2 }), label({ label: 'x', review: -1 })], blockedTerms: [''] }));
    expect(error.issues).toHaveLength(3);
  });

  it('a file that is not JSON', async () => {
    const error = await loadError(await writePolicy('broken.json', '{ "imageLabels": [ }'));
    expect(error.code).toBe('MODERATION_POLICY_INVALID');
    expect(error.issues[0]).toMatch(/^not valid JSON: /);
  });

  it('a JSON value that is not an object', async () => {
    const error = await loadError(await writePolicy('array.json', '[]'));
    expect(error.issues[0]).toMatch(/^\(root\): /);
  });

  it('a missing file', async () => {
    const file = path.join(dir, 'nope.json');
    const error = await loadError(file);
    expect(error.code).toBe('MODERATION_POLICY_NOT_FOUND');
    expect(error.message).toBe(`Moderation policy not found: ${file}`);
  });

  it('a folder', async () => {
    const error = await loadError(dir);
    expect(error.issues).toEqual(['is a folder, not a JSON file']);
  });

  it('parsePolicy names its source too', () => {
    expect(() => parsePolicy({ imageLabels: [label({ block: 1.01 })] }, 'MODERATION_POLICY_FILE')).toThrow(/^Invalid moderation policy MODERATION_POLICY_FILE:\n {2}- imageLabels\[0\] \("nudity"\)\.block/);
  });
});

describe('resolvePolicy (MODERATION and MODERATION_POLICY_FILE)', () => {
  it('off: screens nothing and says so', async () => {
    const { policy, warning } = await resolvePolicy({ mode: 'off', policyFile: path.join(dir, 'missing.json') }, { isTestModel: false });
    expect(policy).toBe(DISABLED_POLICY);
    expect(warning).toMatch(/MODERATION=off/);
  });

  it('on/auto: the shipped default unless a file is named; a bad file fails', async () => {
    expect((await resolvePolicy({ mode: 'on' }, { isTestModel: false })).policy.source).toBe(DEFAULT_POLICY_FILE);
    const file = await writePolicy('custom.json', { blockedTerms: ['bleed'] });
    expect((await resolvePolicy({ mode: 'auto', policyFile: file }, { isTestModel: false })).policy.blockedTerms).toEqual(['bleed']);
    await expect(resolvePolicy({ mode: 'on', policyFile: path.join(dir, 'missing.json') }, { isTestModel: false })).rejects.toThrow(ModerationPolicyError);
  });

  it('auto on the random-weight test model: terms screened, image labels off (with a warning); on keeps them', async () => {
    const auto = await resolvePolicy({ mode: 'auto' }, { isTestModel: true });
    expect(auto.policy.imageLabels).toEqual([]);
    expect(auto.policy.blockedTerms.length).toBeGreaterThan(0);
    expect(auto.warning).toMatch(/test model/);
    const on = await resolvePolicy({ mode: 'on' }, { isTestModel: true });
    expect(on.policy.imageLabels.length).toBeGreaterThan(0);
    expect(on.warning).toBeNull();
  });
});
