/**
 * Cancellation reaches the language model: once the client of an `ask` gives up (its own deadline
 * passes and it closes the connection), the server stops the model call and its retries. Checked on
 * the wire: a real server on 127.0.0.1, the real `openai` client, and an OpenAI-compatible double
 * that hangs or answers 429; after the client's deadline no further request reaches the double.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PUMP_MANUAL_MD } from '../helpers/documents.js';
import { FAKE_MODEL, startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { gql, gqlUpload, startTestServer } from '../helpers/server.js';

const ASK = 'query Ask($question: String) { ask(question: $question) { text mode warnings } }';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('an abandoned ask stops its language model call and retries', () => {
  let fake: FakeOpenAIServer;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  const chatRequests = () => fake.requests.filter((r) => r.path === '/v1/chat/completions').length;

  /** Sends `ask` and closes the connection `afterFirstModelRequestMs` after the first model request arrives (the client's deadline). */
  async function askAndGiveUp(afterFirstModelRequestMs: number): Promise<void> {
    const client = new AbortController();
    const answered = fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: ASK, variables: { question: 'How do I replace the seal 4471-B?' } }),
      signal: client.signal,
    }).then(
      () => 'answered',
      (error: unknown) => (error instanceof Error ? error.name : String(error)),
    );
    for (let waited = 0; chatRequests() === 0; waited += 10) {
      if (waited > 10_000) throw new Error('the model was never asked');
      await sleep(10);
    }
    await sleep(afterFirstModelRequestMs);
    client.abort();
    expect(await answered).toBe('AbortError');
  }

  beforeAll(async () => {
    fake = await startFakeOpenAIServer({ apiKey: 'sk-test' });
    server = await startTestServer({
      LOAD_DEMO: 'false',
      OPENAI_BASE_URL: fake.baseURL,
      OPENAI_API_KEY: 'sk-test',
      LLM_MODEL: FAKE_MODEL,
      // Uncancelled, a hanging model would be asked 4 times within ~4 s (400 ms per attempt plus the SDK's backoff).
      LLM_TIMEOUT_MS: '400',
      LLM_MAX_RETRIES: '3',
      LLM_MAX_RETRY_WAIT_MS: '5000',
    });
    const ingest = 'mutation($file: Upload!) { ingestDocument(file: $file) { id } }';
    const res = await gqlUpload(server.url, ingest, { file: { bytes: Buffer.from(PUMP_MANUAL_MD), name: 'p200.md' } });
    expect(res.errors).toBeUndefined();
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('a hanging model: the pending request is closed and no retry is sent', async () => {
    fake.handle(() => ({ kind: 'hang' }));
    await askAndGiveUp(150);
    await sleep(3500);
    expect(chatRequests()).toBe(1);
    // The server closed its connection to the model instead of waiting for the attempt's timeout.
    expect(fake.requests[0]!.clientClosed).toBe(true);
  });

  it('a rate-limited model: the retry the 429 asked for is never sent', async () => {
    fake.handle(() => ({ kind: 'rate_limited', retryAfter: '1' }));
    await askAndGiveUp(100);
    await sleep(2500);
    expect(chatRequests()).toBe(1);
  });

  it('the server goes on answering, and a patient client still gets the model written answer', async () => {
    fake.handle(() => ({ kind: 'json', value: { answer: 'Fit seal kit 4471-B [1].', answerable: true } }));
    const res = await gql<{ ask: { mode: string; text: string } }>(server.url, ASK, { question: 'How do I replace the seal 4471-B?' });
    expect(res.data?.ask).toMatchObject({ mode: 'LLM', text: 'Fit seal kit 4471-B [1].' });
  });
});
