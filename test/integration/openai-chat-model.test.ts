/**
 * OpenAIChatModel with the real `openai` client over real HTTP, against the fake OpenAI server
 * (which validates the wire format): completions, structured output and its fallbacks, images,
 * streaming, and every failure mode mapped to a ChatModelError reason, with retries and timeouts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatModelError, type ChatRequest } from '../../src/answer/chat-model.js';
import { extractJson, OpenAIChatModel, type OpenAIChatModelOptions } from '../../src/answer/openai-chat-model.js';
import { FAKE_MODEL, startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server.js';

const API_KEY = 'sk-test-0123456789abcdef';
/** 1×1 transparent PNG. */
const PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

const ANSWER_SCHEMA = {
  name: 'answer',
  schema: {
    type: 'object',
    properties: { answer: { type: 'string' }, pages: { type: 'array', items: { type: 'integer' } } },
    required: ['answer', 'pages'],
    additionalProperties: false,
  },
};

const QUESTION: ChatRequest['messages'] = [
  { role: 'system', content: 'You answer from the manual excerpts given.' },
  { role: 'user', content: 'What torque for the M8 flange bolts?' },
];

let fake: FakeOpenAIServer;

beforeAll(async () => {
  fake = await startFakeOpenAIServer({ apiKey: API_KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

function model(overrides: Partial<OpenAIChatModelOptions> = {}): OpenAIChatModel {
  return new OpenAIChatModel({
    baseURL: fake.baseURL,
    apiKey: API_KEY,
    model: FAKE_MODEL,
    timeoutMs: 2000,
    maxRetries: 0,
    supportsImages: false,
    ...overrides,
  });
}

async function failure(promise: Promise<unknown>): Promise<ChatModelError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ChatModelError)) throw new Error(`expected a ChatModelError, got ${String(error)}`);
  return error;
}

async function collect(stream: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const delta of stream) out.push(delta);
  return out;
}

function responseFormat(i: number): unknown {
  return fake.chatRequests()[i]?.response_format;
}

describe('OpenAIChatModel: completions', () => {
  it('sends a plain chat completion and returns the text', async () => {
    fake.enqueue({ kind: 'text', text: 'Torque the M8 flange bolts to 25 Nm (page 12).' });
    const result = await model().complete({ messages: QUESTION, maxTokens: 200, temperature: 0.2 });

    expect(result).toEqual({ text: 'Torque the M8 flange bolts to 25 Nm (page 12).', model: FAKE_MODEL, finishReason: 'stop' });
    expect(result.json).toBeUndefined();
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.body).toEqual({
      model: FAKE_MODEL,
      messages: [
        { role: 'system', content: 'You answer from the manual excerpts given.' },
        { role: 'user', content: 'What torque for the M8 flange bolts?' },
      ],
      max_tokens: 200,
      temperature: 0.2,
    });
  });

  it('sends no Authorization header when no API key is configured (local servers)', async () => {
    const open = await startFakeOpenAIServer();
    try {
      open.enqueue({ kind: 'text', text: 'ok' });
      const local = new OpenAIChatModel({ baseURL: open.baseURL, model: FAKE_MODEL, timeoutMs: 2000, maxRetries: 0, supportsImages: false });
      await expect(local.complete({ messages: QUESTION })).resolves.toMatchObject({ text: 'ok' });
      expect(open.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it('can send max_completion_tokens instead of max_tokens', async () => {
    fake.enqueue({ kind: 'text', text: 'ok' });
    await model({ maxTokensField: 'max_completion_tokens' }).complete({ messages: QUESTION, maxTokens: 50 });
    expect(fake.chatRequests()[0]).toMatchObject({ max_completion_tokens: 50 });
    expect(fake.chatRequests()[0]).not.toHaveProperty('max_tokens');
  });

  it('flattens text-only content parts into one string', async () => {
    fake.enqueue({ kind: 'text', text: 'ok' });
    await model().complete({ messages: [{ role: 'user', content: [{ type: 'text', text: 'line one' }, { type: 'text', text: 'line two' }] }] });
    expect(fake.chatRequests()[0]?.messages).toEqual([{ role: 'user', content: 'line one\nline two' }]);
  });
});

describe('OpenAIChatModel: structured output', () => {
  it('asks for json_schema with strict: true and parses the reply', async () => {
    fake.enqueue({ kind: 'json', value: { answer: '25 Nm', pages: [12] } });
    const llm = model();
    const result = await llm.complete({ messages: QUESTION, jsonSchema: ANSWER_SCHEMA });

    expect(result.json).toEqual({ answer: '25 Nm', pages: [12] });
    expect(result.text).toBe('{"answer":"25 Nm","pages":[12]}');
    expect(fake.chatRequests()).toHaveLength(1);
    expect(responseFormat(0)).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: ANSWER_SCHEMA.schema, strict: true } });
    expect(fake.chatRequests()[0]?.messages).toEqual(QUESTION); // no prompt instruction needed
    expect(llm.structuredOutputMode).toBe('json_schema');
  });

  it('falls back to json_object when json_schema is unsupported, and starts there next time', async () => {
    fake.supports.jsonSchema = false;
    fake.handle(() => ({ kind: 'json', value: { answer: '25 Nm', pages: [12] } }));
    const fallbacks: string[] = [];
    const llm = model({ onStructuredOutputFallback: (e) => fallbacks.push(`${e.from}->${e.to}`) });

    const first = await llm.complete({ messages: QUESTION, jsonSchema: ANSWER_SCHEMA });
    expect(first.json).toEqual({ answer: '25 Nm', pages: [12] });
    expect(fake.chatRequests().map((r) => r.response_format?.type)).toEqual(['json_schema', 'json_object']);
    // json_object carries no schema: the instruction (with the word JSON, which OpenAI requires) does.
    const system = fake.chatRequests()[1]?.messages[0];
    expect(system?.role).toBe('system');
    expect(system?.content).toContain('You answer from the manual excerpts given.');
    expect(system?.content).toContain('Reply with only a JSON object matching this schema');
    expect(system?.content).toContain('"additionalProperties":false');
    expect(fallbacks).toEqual(['json_schema->json_object']);
    expect(llm.structuredOutputMode).toBe('json_object');

    const second = await llm.complete({ messages: QUESTION, jsonSchema: ANSWER_SCHEMA });
    expect(second.json).toEqual({ answer: '25 Nm', pages: [12] });
    expect(fake.chatRequests().map((r) => r.response_format?.type)).toEqual(['json_schema', 'json_object', 'json_object']);
  });

  it('falls back to a prompt instruction when no response_format works, extracting fenced JSON', async () => {
    fake.supports.jsonSchema = false;
    fake.supports.jsonObject = false;
    fake.handle(() => ({ kind: 'text', text: 'Sure! Here it is:\n```json\n{"answer": "25 Nm", "pages": [12]}\n```\nHope this helps.' }));
    const llm = model();

    const first = await llm.complete({ messages: [{ role: 'user', content: 'Torque?' }], jsonSchema: ANSWER_SCHEMA });
    expect(first.json).toEqual({ answer: '25 Nm', pages: [12] });
    const requests = fake.chatRequests();
    expect(requests.map((r) => r.response_format?.type ?? 'none')).toEqual(['json_schema', 'json_object', 'none']);
    // Without a system message, the instruction becomes the first one.
    expect(requests[2]?.messages[0]).toMatchObject({ role: 'system' });
    expect(requests[2]?.messages[0]?.content).toContain('Reply with only a JSON object matching this schema');
    expect(requests[2]?.messages[1]).toEqual({ role: 'user', content: 'Torque?' });
    expect(llm.structuredOutputMode).toBe('prompt');

    await llm.complete({ messages: QUESTION, jsonSchema: ANSWER_SCHEMA });
    expect(fake.chatRequests()).toHaveLength(4);
    expect(fake.chatRequests()[3]?.response_format).toBeUndefined();
  });

  it('falls back when a server ignores response_format and answers prose, extracting JSON from prose', async () => {
    fake.enqueue(
      { kind: 'text', text: 'The bolts take 25 Nm.' },
      { kind: 'text', text: 'Answer: {"answer": "25 Nm {M8}", "pages": [12]} - see the manual.' },
    );
    const llm = model();
    const result = await llm.complete({ messages: QUESTION, jsonSchema: ANSWER_SCHEMA });
    expect(result.json).toEqual({ answer: '25 Nm {M8}', pages: [12] });
    expect(fake.chatRequests().map((r) => r.response_format?.type)).toEqual(['json_schema', 'json_object']);
    expect(llm.structuredOutputMode).toBe('json_object');
  });

  it('fails with bad_response when no mode yields JSON', async () => {
    fake.handle(() => ({ kind: 'text', text: 'I would rather talk about the weather.' }));
    const error = await failure(model().complete({ messages: QUESTION, jsonSchema: ANSWER_SCHEMA }));
    expect(error.reason).toBe('bad_response');
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('does not fall back on an invalid schema: the server says why', async () => {
    const loose = { name: 'answer', schema: { type: 'object', properties: { answer: { type: 'string' } } } };
    const error = await failure(model().complete({ messages: QUESTION, jsonSchema: loose }));
    expect(error.reason).toBe('refused');
    expect(error.status).toBe(400);
    expect(error.message).toContain('additionalProperties');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('reports a reply cut off at the token limit instead of falling back', async () => {
    fake.enqueue({ kind: 'text', text: '{"answer": "25 N', finishReason: 'length' });
    const error = await failure(model().complete({ messages: QUESTION, jsonSchema: ANSWER_SCHEMA, maxTokens: 5 }));
    expect(error.reason).toBe('bad_response');
    expect(error.message).toMatch(/cut off/);
    expect(fake.chatRequests()).toHaveLength(1);
  });
});

describe('extractJson', () => {
  it('finds the JSON object in fenced, prosy and plain text', () => {
    expect(extractJson('{"a":1}')).toEqual({ a: 1 });
    expect(extractJson('  \n[1,2]\n')).toEqual([1, 2]);
    expect(extractJson('```json\n{"a": {"b": [1, 2]}}\n```')).toEqual({ a: { b: [1, 2] } });
    expect(extractJson('```\n{"a": 1}\n```')).toEqual({ a: 1 });
    expect(extractJson('Here you go: {"note": "use } and { carefully", "n": 2}. Anything else?')).toEqual({ note: 'use } and { carefully', n: 2 });
    expect(extractJson('first {not json} then {"ok": true}')).toEqual({ ok: true });
    expect(extractJson('no json here')).toBeUndefined();
    expect(extractJson('"just a string"')).toBeUndefined();
    expect(extractJson('{"unterminated": ')).toBeUndefined();
  });
});

describe('OpenAIChatModel: images', () => {
  const withImage: ChatRequest['messages'] = [
    { role: 'user', content: [{ type: 'text', text: 'Which part is this?' }, { type: 'image', dataUrl: PNG_DATA_URL }] },
  ];

  it('sends image_url content parts when vision is on', async () => {
    fake.enqueue({ kind: 'text', text: 'A relief valve.' });
    await expect(model({ supportsImages: true }).complete({ messages: withImage })).resolves.toMatchObject({ text: 'A relief valve.' });
    expect(fake.chatRequests()[0]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Which part is this?' }, { type: 'image_url', image_url: { url: PNG_DATA_URL } }] },
    ]);
  });

  it('refuses images before any request when vision is off', async () => {
    const llm = model({ supportsImages: false });
    const error = await failure(llm.complete({ messages: withImage }));
    expect(error.reason).toBe('refused');
    expect(error.message).toMatch(/LLM_VISION/);
    const streamError = await failure(collect(llm.stream({ messages: withImage })));
    expect(streamError.reason).toBe('refused');
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses images outside user messages', async () => {
    const error = await failure(
      model({ supportsImages: true }).complete({ messages: [{ role: 'system', content: [{ type: 'image', dataUrl: PNG_DATA_URL }] }] }),
    );
    expect(error.reason).toBe('refused');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('OpenAIChatModel: streaming', () => {
  it('yields the content deltas in order over SSE', async () => {
    fake.enqueue({ kind: 'text', text: ['Check ', 'the ', 'main ', 'fuse', '.'] });
    const deltas = await collect(model().stream({ messages: QUESTION, maxTokens: 100 }));
    expect(deltas).toEqual(['Check ', 'the ', 'main ', 'fuse', '.']);
    expect(fake.chatRequests()[0]).toMatchObject({ model: FAKE_MODEL, stream: true, max_tokens: 100 });
  });

  it('stops on abort: rejects with the abort reason and closes the connection', async () => {
    fake.enqueue({ kind: 'text', text: Array.from({ length: 50 }, (_, i) => `w${i} `), chunkDelayMs: 50 });
    const controller = new AbortController();
    const seen: string[] = [];
    const started = Date.now();
    const error: unknown = await (async () => {
      for await (const delta of model().stream({ messages: QUESTION, signal: controller.signal })) {
        seen.push(delta);
        if (seen.length === 2) controller.abort();
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    expect(seen).toEqual(['w0 ', 'w1 ']);
    expect(Date.now() - started).toBeLessThan(1500);
    await expect.poll(() => fake.requests[0]?.clientClosed).toBe(true);
  });

  it('closes the connection when the consumer stops early', async () => {
    fake.enqueue({ kind: 'text', text: Array.from({ length: 50 }, (_, i) => `w${i} `), chunkDelayMs: 20 });
    for await (const delta of model().stream({ messages: QUESTION })) {
      expect(delta).toBe('w0 ');
      break;
    }
    await expect.poll(() => fake.requests[0]?.clientClosed).toBe(true);
  });

  it('times out when the stream stalls', async () => {
    fake.enqueue({ kind: 'hang', afterHeaders: true, partial: ['Hel', 'lo'] });
    const seen: string[] = [];
    const started = Date.now();
    const error = await failure(
      (async () => {
        for await (const delta of model({ timeoutMs: 300 }).stream({ messages: QUESTION })) seen.push(delta);
      })(),
    );
    expect(error.reason).toBe('timeout');
    expect(seen).toEqual(['Hel', 'lo']);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['rate_limited', { kind: 'rate_limited' } as const],
    ['bad_response', { kind: 'malformed_json' } as const],
    ['bad_response', { kind: 'empty_choices' } as const],
    ['bad_response', { kind: 'empty_content' } as const],
    ['unavailable', { kind: 'server_error' } as const],
  ])('maps a streaming failure to %s', async (reason, reply) => {
    fake.enqueue(reply);
    const error = await failure(collect(model().stream({ messages: QUESTION })));
    expect(error.reason).toBe(reason);
  });
});

describe('OpenAIChatModel: failures', () => {
  it('retries a persistent 500: maxRetries 2 makes 3 requests, then unavailable', async () => {
    fake.handle(() => ({ kind: 'server_error' }));
    const error = await failure(model({ maxRetries: 2 }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('unavailable');
    expect(error.status).toBe(500);
    expect(fake.chatRequests()).toHaveLength(3);
    expect(fake.requests.map((r) => r.headers['x-stainless-retry-count'])).toEqual(['0', '1', '2']);
  });

  it('waits for retry-after on 429, then succeeds (2 requests)', async () => {
    fake.enqueue({ kind: 'rate_limited', retryAfter: '1' }, { kind: 'text', text: 'ok' });
    const started = Date.now();
    await expect(model({ maxRetries: 2 }).complete({ messages: QUESTION })).resolves.toMatchObject({ text: 'ok' });
    expect(fake.chatRequests()).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('fails as rate_limited with retryAfterMs when retries run out', async () => {
    fake.handle(() => ({ kind: 'rate_limited', retryAfter: '0' }));
    const error = await failure(model({ maxRetries: 1 }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('rate_limited');
    expect(error.status).toBe(429);
    expect(error.retryAfterMs).toBe(0);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('does not sleep through a retry-after longer than maxRetryWaitMs', async () => {
    fake.handle(() => ({ kind: 'rate_limited', retryAfter: '120' }));
    const started = Date.now();
    const error = await failure(model({ maxRetries: 2, maxRetryWaitMs: 5000 }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(120_000);
    expect(fake.chatRequests()).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('times out a server that never answers, retrying within the budget', async () => {
    fake.handle(() => ({ kind: 'hang' }));
    const started = Date.now();
    const error = await failure(model({ timeoutMs: 300, maxRetries: 1 }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('timeout');
    expect(fake.chatRequests()).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('times out a server that sends headers and then stalls the body', async () => {
    fake.enqueue({ kind: 'hang', afterHeaders: true });
    const started = Date.now();
    const error = await failure(model({ timeoutMs: 300 }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers slow but in-time replies', async () => {
    fake.enqueue({ kind: 'text', text: 'late but fine', delayMs: 150 });
    await expect(model({ timeoutMs: 1000 }).complete({ messages: QUESTION })).resolves.toMatchObject({ text: 'late but fine' });
  });

  it.each([
    ['malformed JSON', { kind: 'malformed_json' } as const],
    ['an empty choices array', { kind: 'empty_choices' } as const],
    ['an empty content string', { kind: 'empty_content' } as const],
  ])('maps %s to bad_response', async (_label, reply) => {
    fake.enqueue(reply);
    const error = await failure(model({ maxRetries: 2 }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('bad_response');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('maps a wrong API key to auth, without the key in the message, and does not retry', async () => {
    const wrongKey = 'sk-wrong-key-abcdef0123456789';
    const error = await failure(model({ apiKey: wrongKey, maxRetries: 2 }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('auth');
    expect(error.status).toBe(401);
    expect(error.message).not.toContain(wrongKey);
    expect(error.message).not.toContain('sk-');
    expect(error.cause).toBeDefined();
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('maps a refused connection to unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(model({ baseURL: `http://127.0.0.1:${port}/v1` }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('unavailable');
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('maps an unknown model (404) to unavailable', async () => {
    const error = await failure(model({ model: 'no-such-model' }).complete({ messages: QUESTION }));
    expect(error.reason).toBe('unavailable');
    expect(error.status).toBe(404);
    expect(error.message).toContain('no-such-model');
  });

  it('rejects with the abort reason when the caller aborts a pending call', async () => {
    fake.handle(() => ({ kind: 'hang' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(model({ timeoutMs: 5000 }).complete({ messages: QUESTION, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('fake OpenAI server', () => {
  it('validates requests like OpenAI does', async () => {
    const post = async (body: unknown) => {
      const res = await fetch(`${fake.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { error?: { message: string; param: string | null } } };
    };
    const image = { type: 'image_url', image_url: { url: PNG_DATA_URL } };
    expect((await post({ messages: [{ role: 'user', content: 'hi' }] })).body.error?.message).toBe('you must provide a model parameter');
    expect((await post({ model: FAKE_MODEL, messages: [] })).status).toBe(400);
    expect((await post({ model: FAKE_MODEL, messages: [{ role: 'robot', content: 'hi' }] })).body.error?.param).toBe('messages[0].role');
    expect((await post({ model: FAKE_MODEL, messages: [{ role: 'system', content: [image] }] })).body.error?.message).toMatch(/only allowed for messages with role 'user'/);
    expect((await post({ model: FAKE_MODEL, messages: [{ role: 'user', content: [{ type: 'image', dataUrl: PNG_DATA_URL }] }] })).status).toBe(400);
    expect((await post({ model: FAKE_MODEL, messages: [{ role: 'user', content: 'hi' }], stream: 'yes' })).body.error?.param).toBe('stream');
    expect((await post({ model: FAKE_MODEL, messages: [{ role: 'user', content: 'hi' }], jsonSchema: {} })).body.error?.message).toMatch(/Unrecognized request argument/);
    const models = (await (await fetch(`${fake.baseURL}/models`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual([FAKE_MODEL]);
  });
});
