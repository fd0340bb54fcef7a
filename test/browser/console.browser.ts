/**
 * The console in a real browser: Debian's chromium driven by playwright-core, against the real
 * server on 127.0.0.1 (bundled tiny test model, real SQLite, the demo knowledge base) and the fake
 * OpenAI server (real HTTP and SSE) standing in for the language model. Every flow runs at phone
 * (360×740) and desktop (1280×800) size and leaves a screenshot in docs/screenshots/.
 *
 * Tenants keep the flows independent: `default` has the demo (and, with a moderation policy that
 * sends every stored image to review, three UPLOAD review items with photos); `yard-phone` and
 * `yard-desktop` hold just two documents, so an identification there has two candidates (on the
 * test model identifyPart is never confident, so each one opens a review item); `empty` has
 * nothing, so nothing matches.
 *
 * Run: npm run test:browser (needs /usr/bin/chromium: apt-get install -y chromium).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MODEL, startFakeOpenAIServer, type FakeOpenAIServer, type FakeReply } from '../helpers/fake-openai-server.js';
import { gql, gqlUpload, startTestServer } from '../helpers/server.js';
import { REPO_ROOT } from '../helpers/shared.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
const DEMO = path.join(REPO_ROOT, 'demo');

const VIEWPORTS = {
  phone: { width: 360, height: 740 },
  desktop: { width: 1280, height: 800 },
} as const;
type Size = keyof typeof VIEWPORTS;

/** Keys: `<role>-<tenant>-…`, at least 20 characters as the key file asks. */
const key = (role: string, tenant: string) => `${role}-${tenant}-key-0123456789abcdef`;
const ROLES = ['technician', 'agent', 'admin'] as const;
const TENANTS = ['default', 'yard-phone', 'yard-desktop', 'empty'];
const NAMES: Record<string, string> = { technician: 'tess', agent: 'alex', admin: 'ada' };

/** What the language model does for the next requests. */
let llm: 'ok' | 'slow' | 'fail' = 'ok';
const STREAM_TEXT = ['Replace the ', 'mechanical seal ', 'kit 4471-B ', '[1]. ', 'Torque the gland ', 'bolts to 25 Nm [2].'];

let server: Awaited<ReturnType<typeof startTestServer>>;
let fake: FakeOpenAIServer;
let browser: Browser;
let work: string;
/** A fixed image to identify in the yards. */
let unsure: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'fieldscope-browser-'));
  mkdirSync(SHOTS, { recursive: true });
  const keysFile = path.join(work, 'keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: TENANTS.flatMap((tenant) => ROLES.map((role) => ({ name: `${NAMES[role]}.${tenant}`, role, tenant, key: key(role, tenant) }))) }));
  // Every stored image goes to review (score ≥ 0), none is blocked (1 = never): UPLOAD items with photos.
  const policy = path.join(work, 'policy.json');
  writeFileSync(policy, JSON.stringify({ imageLabels: [{ label: 'needs a look', prompts: ['a photo.'], block: 1, review: 0 }], blockedTerms: ['forbiddenword'] }));
  fake = await startFakeOpenAIServer({ apiKey: 'sk-test' });
  fake.handle((body): FakeReply => {
    if (llm === 'fail') return { kind: 'server_error', status: 500 };
    const pace = llm === 'slow' ? { delayMs: 4500 } : {};
    return body.stream
      ? { kind: 'text', text: STREAM_TEXT, chunkDelayMs: 300, ...pace }
      : { kind: 'json', value: { answer: 'Replace the mechanical seal kit 4471-B [1]. Torque the gland bolts to 25 Nm [2].', answerable: true }, ...pace };
  });
  server = await startTestServer({
    AUTH_KEYS_FILE: keysFile,
    MODERATION: 'on',
    MODERATION_POLICY_FILE: policy,
    OPENAI_BASE_URL: fake.baseURL,
    OPENAI_API_KEY: 'sk-test',
    LLM_MODEL: FAKE_MODEL,
    LLM_MAX_RETRIES: '0',
    LLM_TIMEOUT_MS: '15000',
  });
  for (const tenant of ['yard-phone', 'yard-desktop']) {
    for (const [title, body] of [
      ['Gate valve GV-10', 'Open the gate valve slowly and check the packing gland.'],
      ['Globe valve GL-20', 'Seat the globe valve disc and lap the seat ring.'],
    ]) {
      const res = await gqlUpload(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from(`# ${title}\n\n${body}\n`), name: `${title}.md`, type: 'text/markdown' } }, {}, auth('admin', tenant));
      expect(res.errors).toBeUndefined();
    }
  }
  unsure = path.join(work, 'green-part.png');
  writeFileSync(unsure, await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 0, g: 192, b: 0 } } }).png().toBuffer());
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await fake?.close();
});

function auth(role: string, tenant: string): Record<string, string> {
  return { authorization: `Bearer ${key(role, tenant)}` };
}

/** Problems the page reported (script errors, CSP refusals, failed requests other than expected 4xx). */
const problems: string[] = [];
const contexts: BrowserContext[] = [];

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  const found = problems.splice(0);
  expect(found, 'the page reported no script error or CSP refusal').toEqual([]);
});

async function open(size: Size, hash = ''): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORTS[size], deviceScaleFactor: 1 });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${server.url}/${hash}`);
  return page;
}

async function signIn(page: Page, role: string, tenant = 'default'): Promise<void> {
  await page.getByLabel('API key').fill(key(role, tenant));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.getByTestId('who').textContent()).toContain(`${NAMES[role]}.${tenant}`);
}

/** The layout fits the viewport (no sideways scrolling at 360 px), and every form control has a label. */
async function checkLayout(page: Page): Promise<void> {
  // Page-side code as strings: this project's TypeScript has no DOM types outside console/.
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
  expect(overflow, 'no horizontal scrolling').toBeLessThanOrEqual(0);
  const unlabelled = await page.evaluate<string[]>(
    "[...document.querySelectorAll('input, select, textarea')].filter((el) => el.labels?.length === 0 && !el.getAttribute('aria-label')).map((el) => el.outerHTML.slice(0, 80))",
  );
  expect(unlabelled, 'every control has a label').toEqual([]);
}

/**
 * A screenshot of the page from the top, or from `from` (an element, or 'viewport' for what is on
 * screen, e.g. an open dialog), cut to a readable height.
 */
async function shot(page: Page, name: string, size: Size, from?: Locator | 'viewport'): Promise<void> {
  await checkLayout(page);
  const height = await page.evaluate<number>('document.documentElement.scrollHeight');
  let top = 0;
  if (from && from !== 'viewport') {
    const box = await from.boundingBox();
    top = Math.max(0, Math.floor((box?.y ?? 0) + (await page.evaluate<number>('window.scrollY')) - 8));
  }
  const png =
    from === 'viewport'
      ? await page.screenshot()
      : await page.screenshot({ fullPage: true, clip: { x: 0, y: top, width: VIEWPORTS[size].width, height: Math.min(height - top, size === 'phone' ? 1600 : 1000) } });
  // A 256-colour palette keeps the committed screenshots small (UI colours survive it).
  await sharp(png).png({ palette: true, colours: 256, compressionLevel: 9, effort: 10 }).toFile(path.join(SHOTS, `${name}-${size}.png`));
}

/** A GraphQL response whose data has that top-level field (Chromium does not expose multipart request bodies with files). */
async function hasField(response: Response, field: string): Promise<boolean> {
  return response.url().endsWith('/graphql') && (await response.text()).includes(`"${field}":`);
}

/**
 * Images inside `selector` that decoded (thumbnails and photos really load from /files); fails on
 * any broken one. Lazy images below the fold may not have started: they count as neither.
 */
async function imagesLoaded(page: Page, selector: string): Promise<number> {
  const images = `[...document.querySelectorAll(${JSON.stringify(selector)})]`;
  // Polled with evaluate: waitForFunction compiles its string in the page, which the console's CSP forbids.
  await expect.poll(() => page.evaluate<number>(`${images}.filter((i) => i.complete && i.naturalWidth > 0).length`)).toBeGreaterThan(0);
  expect(await page.evaluate<string[]>(`${images}.filter((i) => i.complete && i.naturalWidth === 0 && i.getAttribute('loading') !== 'lazy').map((i) => i.src)`), 'broken images').toEqual([]);
  return page.evaluate<number>(`${images}.filter((i) => i.complete && i.naturalWidth > 0).length`);
}

describe.each(Object.keys(VIEWPORTS) as Size[])('console at %s size', (size) => {
  it('refuses a wrong key in a sentence, then shows who is signed in and the test-model banner', async () => {
    const page = await open(size);
    await page.getByLabel('API key').fill('not-a-key-of-this-server-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The server did not accept this API key. Check the key and sign in again.');
    await shot(page, 'sign-in-wrong-key', size);
    await page.getByLabel('API key').fill(key('technician', 'default'));
    await page.getByLabel('API key').press('Enter'); // the keyboard works as well as the button
    await expect.poll(() => page.getByTestId('who').textContent()).toBe('tess.default · technician · tenant default');
    expect(await page.getByTestId('test-model-banner').textContent()).toContain('random-weight model');
    expect(await page.evaluate<string | null>("sessionStorage.getItem('fieldscope-key')")).toBe(key('technician', 'default'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.evaluate<string | null>("sessionStorage.getItem('fieldscope-key')")).toBeNull();
    await expect.poll(() => page.getByLabel('API key').isVisible()).toBe(true);
  });

  it('asks with a photo: part and confidence, pages as thumbnails with marked snippets, a cited answer, a page opened large, confirm and undo', async () => {
    llm = 'ok';
    const page = await open(size);
    await signIn(page, 'technician');
    expect(await page.locator('#photo-input').getAttribute('capture')).toBe('environment');
    expect(await page.locator('#photo-input').getAttribute('accept')).toBe('image/*');
    await page.locator('#photo-input').setInputFiles(path.join(DEMO, 'photos', 'pump-p200.jpg'));
    await page.getByLabel('Question').fill('How do I replace the mechanical seal?');
    const look = page.waitForResponse((r) => hasField(r, 'identifyPart'));
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    const api = (await (await look).json()) as { data: { identifyPart: { confident: boolean; candidates: { label: string; score: number }[] } } };
    const top = api.data.identifyPart.candidates[0]!;
    const recognised = page.getByTestId('recognised');
    await expect.poll(() => recognised.textContent()).toContain(top.label);
    // What the API said is what the page says: "Recognised" only when the API is confident.
    expect(await recognised.locator('.recognised').textContent()).toMatch(api.data.identifyPart.confident ? /^Recognised: / : /^Not confident\./);
    expect(await recognised.textContent()).toContain(`${Math.round(top.score * 100)} %`);

    const pages = page.getByTestId('pages');
    await expect.poll(() => pages.locator('.hit').count()).toBeGreaterThan(2);
    expect(await imagesLoaded(page, '[data-testid=pages] .hit img')).toBeGreaterThan(size === 'phone' ? 0 : 2);
    expect(await pages.locator('.snippet mark').count()).toBeGreaterThan(0);
    expect((await pages.locator('.snippet mark').allTextContents()).map((t) => t.toLowerCase())).toEqual(expect.arrayContaining(['seal']));

    const answer = page.getByTestId('answer');
    await expect.poll(() => answer.locator('.cite').count(), { timeout: 20_000 }).toBe(2);
    expect(await answer.locator('.answer-text').textContent()).toBe('Replace the mechanical seal kit 4471-B [1]. Torque the gland bolts to 25 Nm [2].');
    expect(await answer.locator('.meta').textContent()).toContain('Written by the language model');
    await shot(page, 'ask-with-photo', size, size === 'phone' ? recognised : undefined);

    await answer.locator('.cite').first().click();
    const dialog = page.locator('dialog[open]');
    await expect.poll(() => dialog.count()).toBe(1);
    const title = await dialog.locator('h2').textContent();
    expect(title).toBe((await answer.locator('.sources button').first().textContent())?.trim());
    if (await dialog.locator('img.viewer-image').count()) expect(await imagesLoaded(page, 'dialog[open] img.viewer-image')).toBe(1);
    await shot(page, 'page-opened-large', size, 'viewport');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);

    await page.getByRole('button', { name: `Yes, this is ${top.label}` }).click();
    await expect.poll(() => recognised.locator('[role=status]').textContent()).toContain(`Recorded: this is ${top.label}`);
    await shot(page, 'confirm-part', size, recognised);
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => recognised.locator('[role=status]').textContent()).toContain(`Withdrawn: the label "${top.label}" no longer counts.`);
  });

  it('streams the answer to a question asked with the keyboard alone; its citations open the pages', async () => {
    llm = 'ok';
    const page = await open(size);
    await signIn(page, 'technician');
    // Keyboard only: Tab reaches the photo picker, then the question, then Ask; Enter asks.
    const focused = () => page.evaluate<string>("(document.activeElement?.id || document.activeElement?.textContent || '').trim()");
    const reached: string[] = [];
    for (let i = 0; i < 12 && (await focused()) !== 'question'; i++) {
      await page.keyboard.press('Tab');
      reached.push(await focused());
    }
    expect(reached).toContain('photo-input');
    expect(await focused()).toBe('question');
    await page.keyboard.type('Which seal kit fits the P-200 pump?');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Ask');
    await page.keyboard.press('Enter');
    const answer = page.getByTestId('answer');
    // Part of the text is on screen while the model is still writing.
    await page.locator('[data-testid=answer] .answer-text.streaming').waitFor({ timeout: 15_000 });
    const partial = await answer.locator('.answer-text').textContent();
    expect(STREAM_TEXT.join('').startsWith((partial ?? '').replace('▍', ''))).toBe(true);
    await expect.poll(() => answer.locator('.cite').count(), { timeout: 20_000 }).toBe(2);
    expect(await answer.locator('.answer-text').textContent()).toBe(STREAM_TEXT.join(''));
    expect(await answer.locator('.sources li').count()).toBe(2);
    await shot(page, 'ask-streamed', size, size === 'phone' ? answer : undefined);
    await answer.locator('.sources button').nth(1).click();
    await expect.poll(() => page.locator('dialog[open] h2').textContent()).toBe(await answer.locator('.sources button').nth(1).textContent());
  });

  it('says "not confident" and "no good match" as such', async () => {
    llm = 'ok';
    const yard = `yard-${size}`;
    const page = await open(size);
    await signIn(page, 'technician', yard);
    await page.locator('#photo-input').setInputFiles(unsure);
    const look = page.waitForResponse((r) => hasField(r, 'identifyPart'));
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    const api = (await (await look).json()) as { data: { identifyPart: { confident: boolean; reviewItem: { id: string } | null } } };
    expect(api.data.identifyPart.confident, 'precondition: identifyPart is not confident (never on the test model)').toBe(false);
    const recognised = page.getByTestId('recognised');
    await expect.poll(() => recognised.locator('.recognised').textContent()).toMatch(/^Not confident\. Best guess: (Gate|Globe) valve .* This photo was added to the review queue for an agent\.$/);
    expect(await recognised.getAttribute('class')).toContain('caution');
    await expect.poll(() => page.getByTestId('answer').locator('.meta').count(), { timeout: 20_000 }).toBe(1);
    await shot(page, 'not-confident', size, size === 'phone' ? recognised : undefined);

    const empty = await open(size);
    await signIn(empty, 'technician', 'empty');
    await empty.getByLabel('Question').fill('How do I bleed the hydraulic brake?');
    await empty.getByRole('button', { name: 'Ask', exact: true }).click();
    await expect.poll(() => empty.getByTestId('answer').locator('.verdict').textContent(), { timeout: 20_000 }).toBe('The manuals do not answer this.');
    expect(await empty.getByTestId('answer').locator('.cite').count()).toBe(0);
    expect(await empty.getByTestId('pages').textContent()).toContain('Nothing found.');
    expect(await empty.getByTestId('answer').locator('.warnings').textContent()).toContain('No relevant source was found');
    await shot(empty, 'no-good-match', size);
  });

  it('shows a slow language model as still working, and a failing one as a quoted answer with the reason', async () => {
    const page = await open(size);
    await signIn(page, 'technician');
    const answer = page.getByTestId('answer');
    llm = 'slow';
    await page.getByLabel('Question').fill('What torque for the gland bolts?');
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    await expect.poll(() => answer.locator('.waiting').textContent(), { timeout: 10_000 }).toMatch(/still working \(\d+ s\)\.$/);
    await shot(page, 'llm-slow', size, size === 'phone' ? answer : undefined);
    await expect.poll(() => answer.locator('.cite').count(), { timeout: 25_000 }).toBe(2);

    llm = 'fail';
    await page.getByLabel('Question').fill('What grease for the bearings?');
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    await expect.poll(() => answer.locator('.meta').textContent(), { timeout: 20_000 }).toContain('Quoted from the manuals (no language model wrote this).');
    expect(await answer.locator('.warnings').textContent()).toMatch(/^Answered from the sources directly because /);
    await shot(page, 'llm-failed', size, size === 'phone' ? answer : undefined);
    llm = 'ok';
  });

  it('lets an agent claim and resolve review items: the flagged photo, and the candidates of an unsure identification', async () => {
    // An unconfident identification in this size's yard, made through the API like any client would.
    const yard = `yard-${size}`;
    const made = await gqlUpload<{ identifyPart: { confident: boolean; reviewItem: { id: string } | null } }>(
      server.url,
      'query($image: Upload!) { identifyPart(image: $image) { confident reviewItem { id } } }',
      { image: { bytes: readFileSync(unsure), name: 'green-part.png', type: 'image/png' } },
      {},
      auth('technician', yard),
    );
    expect(made.data?.identifyPart.reviewItem, 'precondition: an unconfident identification opens a review item').not.toBeNull();

    const page = await open(size, '#review');
    await signIn(page, 'agent');
    const first = page.locator('.review-item').filter({ hasText: 'Flagged upload · Open' }).first();
    await first.waitFor();
    // Pinned by its id: once claimed it no longer matches "Open".
    const item = page.locator(`li[aria-labelledby="${await first.getAttribute('aria-labelledby')}"]`);
    expect(await item.textContent()).toMatch(/Moderation: .*needs a look/);
    expect(await imagesLoaded(page, '.review-item img')).toBeGreaterThan(0);
    await item.getByRole('button', { name: 'Claim' }).click();
    await expect.poll(() => item.locator('h2').textContent()).toBe('Flagged upload · Claimed');
    expect(await item.locator('.meta').textContent()).toContain('claimed by alex.default');
    await item.getByLabel('Note (optional)').fill('valve photo, fine to keep');
    await item.getByRole('button', { name: 'Resolve' }).click();
    await expect.poll(() => item.locator('[role=status]').textContent()).toBe('Resolved (valve photo, fine to keep).');
    await shot(page, 'review-queue', size, size === 'phone' ? item : undefined);

    const yardPage = await open(size, '#review');
    await signIn(yardPage, 'agent', yard);
    const firstUnsure = yardPage.locator('.review-item').filter({ hasText: 'Unconfident identification · Open' }).first();
    await firstUnsure.waitFor();
    const unsureItem = yardPage.locator(`li[aria-labelledby="${await firstUnsure.getAttribute('aria-labelledby')}"]`);
    expect(await unsureItem.locator('.candidates li').count()).toBe(2);
    await unsureItem.getByRole('button', { name: 'Use the label Globe valve GL-20' }).click();
    expect(await unsureItem.getByLabel('Right label').inputValue()).toBe('Globe valve GL-20');
    await unsureItem.getByRole('button', { name: 'Resolve' }).click();
    await expect.poll(() => unsureItem.locator('[role=status]').textContent()).toBe('Resolved as "Globe valve GL-20".');
    await shot(yardPage, 'review-identification', size, size === 'phone' ? unsureItem : undefined);
    // The label was recorded as a confirmation: the same photo now leans to it.
    const again = await gqlUpload<{ identifyPart: { candidates: { label: string }[] } }>(server.url, 'query($image: Upload!) { identifyPart(image: $image) { candidates { label } } }', { image: { bytes: readFileSync(unsure), name: 'g.png', type: 'image/png' } }, {}, auth('technician', yard));
    expect(again.data?.identifyPart.candidates[0]?.label).toBe('Globe valve GL-20');
  });

  it('lets an admin upload several files with a result each, then list, search, open and delete', async () => {
    const title = `Strainer basket SB-${size === 'phone' ? 360 : 1280} cleaning`;
    const fresh = path.join(work, `strainer-${size}.md`);
    writeFileSync(fresh, `# ${title}\n\nClose both isolation valves, open the strainer cover and rinse the basket.\n`);
    const junk = path.join(work, `firmware-${size}.bin`);
    writeFileSync(junk, Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 131 + 7) % 256)));

    const page = await open(size, '#library');
    await signIn(page, 'admin');
    await expect.poll(() => page.locator('.document-row').count()).toBeGreaterThan(5);
    await page.getByLabel('Files').setInputFiles([fresh, path.join(DEMO, 'docs', 'sop-07-lockout-tagout.md'), path.join(DEMO, 'photos', 'valve-bv50.jpg'), junk]);
    await page.getByRole('button', { name: 'Upload 4 files' }).click();
    await expect.poll(() => page.locator('form [role=status]').textContent(), { timeout: 30_000 }).toBe('Finished: 1 added, 2 duplicate, 1 refused.');
    const rows = page.getByTestId('upload-row');
    expect(await rows.nth(0).locator('.outcome').textContent()).toMatch(new RegExp(`^Added "${title}" \\(\\d+ pages?\\)\\.$`));
    expect(await rows.nth(1).locator('.outcome').textContent()).toMatch(/^Duplicate Already in the knowledge base as "SOP-07: .*"; nothing added\.$/);
    expect(await rows.nth(2).locator('.outcome').textContent()).toBe('Duplicate Already in the knowledge base; nothing added.');
    const refused = (await rows.nth(3).locator('.outcome').textContent()) ?? '';
    expect(refused).toMatch(/^Refused [A-Z].*\.$/);
    expect(refused).not.toMatch(/[{}]|"code"/);
    await shot(page, 'knowledge-base-upload', size);

    const row = page.locator('.document-row').filter({ hasText: title });
    await row.waitFor();
    await page.getByLabel('Search the knowledge base').fill('strainer basket');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const found = page.locator('.panel .hits .hit').filter({ hasText: title });
    await expect.poll(() => found.count()).toBe(1);
    expect(await found.locator('mark').count()).toBeGreaterThan(0);

    await row.getByRole('button', { name: `Open ${title}` }).click();
    await expect.poll(() => page.locator('#document-title').textContent()).toBe(title);
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id')).toBe('document-title');
    await shot(page, 'knowledge-base-open', size, page.locator('#document-title'));

    const id = (await gql<{ search: { hits: { document: { id: string; title: string } | null }[] } }>(server.url, 'query($t: String) { search(text: $t) { hits { document { id title } } } }', { t: 'strainer basket' }, auth('admin', 'default'))).data!.search.hits.find((h) => h.document?.title === title)!.document!.id;
    await row.getByRole('button', { name: `Delete ${title}` }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await expect.poll(() => page.locator('.document-row').filter({ hasText: title }).count()).toBe(0);
    const gone = await gql<{ document: unknown }>(server.url, 'query($id: ID!) { document(id: $id) { id } }', { id }, auth('admin', 'default'));
    expect(gone.data?.document).toBeNull();
  });

  it('shows a technician the refusal of admin and agent actions in words', async () => {
    const page = await open(size, '#library');
    await signIn(page, 'technician');
    expect(await page.locator('.note').textContent()).toContain('Adding and deleting needs an admin key');
    await page.getByLabel('Files').setInputFiles(path.join(DEMO, 'docs', 'sop-07-lockout-tagout.md'));
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect.poll(() => page.getByTestId('upload-row').locator('.outcome').textContent()).toBe(
      "Refused Your key's role (technician) is not allowed to add documents. Ask an administrator if you need to.",
    );
    const row = page.locator('.document-row').first();
    await row.getByRole('button', { name: /^Delete / }).click();
    await row.getByRole('button', { name: 'Yes, delete' }).click();
    await expect.poll(() => row.getByRole('alert').textContent()).toBe("Your key's role (technician) is not allowed to delete documents. Ask an administrator if you need to.");
    await shot(page, 'technician-refused', size);
    await page.getByRole('link', { name: 'Review queue' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toBe("Your key's role (technician) is not allowed to see the review queue. Ask an administrator if you need to.");
  });
});

describe('developer explorer at /explorer', () => {
  it('lists queries, mutations and subscriptions; generated operations run, files go by the right variable, thumbnails show', async () => {
    llm = 'ok';
    const page = await open('desktop', '');
    await page.goto(`${server.url}/explorer`);
    await page.locator('#apikey').fill(key('admin', 'default'));
    await page.locator('#apikey').dispatchEvent('change');
    await expect.poll(() => page.locator('#banner').textContent()).toContain('TEST model');
    const ops = page.locator('#ops');
    expect(await ops.locator('h2').allTextContents()).toEqual(['Queries', 'Mutations', 'Subscriptions']);

    await ops.getByRole('button', { name: /^deleteDocument\(/ }).click();
    expect(await page.locator('#query').inputValue()).toBe('mutation DeleteDocument($id: ID!) {\n  deleteDocument(id: $id)\n}\n');
    await page.getByRole('button', { name: 'Run ▶' }).click();
    await expect.poll(() => page.locator('#result').textContent()).toContain('"deleteDocument": false');

    await ops.getByRole('button', { name: /^ingestPhoto\(/ }).click();
    expect(await page.locator('#filevar').inputValue()).toBe('file');
    await ops.getByRole('button', { name: /^search\(/ }).click();
    expect(await page.locator('#filevar').inputValue()).toBe('image');
    await page.locator('#variables').fill('{"text": "mechanical seal replacement", "limit": 4}');
    await page.getByRole('button', { name: 'Run ▶' }).click();
    await expect.poll(() => page.locator('#result').textContent()).toContain('"snippet"');
    expect(await imagesLoaded(page, '#thumbs img')).toBeGreaterThan(0);
    await shot(page, 'explorer', 'desktop');

    await ops.getByRole('button', { name: /^askStream\(/ }).click();
    await page.locator('#variables').fill('{"question": "seal kit for the P-200"}');
    await page.getByRole('button', { name: 'Run ▶' }).click();
    await expect.poll(() => page.locator('#result').textContent(), { timeout: 20_000 }).toContain('"complete": true');
    expect(await page.locator('#result').textContent()).toContain('"__typename": "AnswerDelta"');
  });
});
