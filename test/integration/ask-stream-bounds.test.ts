/**
 * Issue 17 item 20, the attacks over a real WebSocket with the real `openai` client talking to a
 * local OpenAI-compatible server: a 10 MB streamed reply went out as 8 MB of deltas before the
 * fallback, and a model that streams forever (each chunk in time) ended in TIMEOUT with no answer.
 * Now the stream is cut at LLM_MAX_STREAM_CHARS / after LLM_TIMEOUT_MS in all, and the answer
 * falls back to extractive, as `ask` does.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { FAKE_MODEL, startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { gqlUpload, startTestServer } from '../helpers/server.js';
import { wsClient } from '../helpers/ws.js';

const STREAM = 'subscription { askStream(question: "How do I replace the mechanical seal 4471-B?") { __typename ... on AnswerDelta { text } ... on Answer { text mode warnings } } }';

interface Event {
  __typename: string;
  text: string;
  mode?: string;
  warnings?: string[];
}

describe('askStream is bounded like ask, and falls back to an extractive answer', () => {
  let fake: FakeOpenAIServer;
  let server: Awaited<ReturnType<typeof startTestServer>>;

  beforeAll(async () => {
    fake = await startFakeOpenAIServer({ apiKey: 'sk-test' });
    server = await startTestServer({
      LOAD_DEMO: 'false',
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'sk-test',
      LLM_MODEL: FAKE_MODEL,
      LLM_TIMEOUT_MS: '1500',
      LLM_MAX_RETRIES: '0',
      LLM_MAX_RETRY_WAIT_MS: '0',
      LLM_MAX_STREAM_CHARS: '2000',
    });
    await gqlUpload(server.url, 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }', { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } });
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function stream(): Promise<{ events: Event[]; code: string | undefined; ms: number }> {
    const client = wsClient(server.url, null);
    const started = performance.now();
    const result = await client.run(STREAM);
    await client.dispose();
    return { events: result.results.flatMap((r) => (r.data ? [r.data.askStream as Event] : [])), code: result.code, ms: performance.now() - started };
  }

  it('a 10 MB streamed reply is cut at LLM_MAX_STREAM_CHARS and the answer is extractive', async () => {
    fake.enqueue({ kind: 'text', text: Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(10_236)} `) });
    const { events, code } = await stream();
    expect(code).toBeUndefined();
    const streamed = events.filter((e) => e.__typename === 'AnswerDelta').reduce((n, e) => n + e.text.length, 0);
    expect(streamed).toBeLessThanOrEqual(2000);
    const final = events.at(-1)!;
    expect(final).toMatchObject({ __typename: 'Answer', mode: 'EXTRACTIVE' });
    expect(final.warnings!.join(' ')).toMatch(/longer than the limit/);
    expect(final.text).toMatch(/4471-B|seal/i);
  });

  it('a model that streams forever is cut after LLM_TIMEOUT_MS and the answer is extractive, not TIMEOUT', async () => {
    fake.enqueue({ kind: 'text', text: Array.from({ length: 100_000 }, () => 'on '), chunkDelayMs: 20 });
    const { events, code, ms } = await stream();
    expect(code).toBeUndefined();
    const final = events.at(-1)!;
    expect(final).toMatchObject({ __typename: 'Answer', mode: 'EXTRACTIVE' });
    expect(final.warnings!.join(' ')).toMatch(/did not finish its streamed answer in time/);
    expect(ms).toBeLessThan(10_000);
    // The model's connection was closed, not left streaming.
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.requests.at(-1)?.clientClosed).toBe(true);
  }, 30_000);
});
