/**
 * askStream's own bounds (issue 17 item 20) with a hand-written ChatModel: the cause of the
 * fallback reaches the log, the caller's abort ends the stream without a fallback answer.
 */
import { describe, expect, it } from 'vitest';
import { AnswerService, DEFAULT_ANSWER_SETTINGS, type AskEvent } from '../../src/answer/answer-service.js';
import type { ChatModel } from '../../src/answer/chat-model.js';
import type { ClipEncoder } from '../../src/clip/clip-encoder.js';
import type { SearchService } from '../../src/search/search-service.js';

const page = { documentId: 'd1', number: 1, text: 'Replace the mechanical seal kit 4471-B and torque the gland bolts to 25 Nm.', thumbnailKey: null };
const document = { id: 'd1', title: 'P-200 manual', kind: 'markdown', mimeType: 'text/markdown', contentHash: 'x', byteSize: 1, pageCount: 1, metadata: {}, blobKey: 'k', createdAt: '2026-01-01T00:00:00Z' };
const search = { search: async () => ({ noGoodMatch: false, hits: [{ score: 1, matchedBy: ['KEYWORD'], document, page, photo: null, snippet: page.text }] }) } as unknown as SearchService;
const encoder = {} as ClipEncoder;

/** A model that streams `chunk` every `everyMs` until it is aborted. */
function endlessModel(chunk: string, everyMs: number): ChatModel & { aborted: () => boolean } {
  let aborted = false;
  return {
    id: 'endless',
    supportsImages: false,
    complete: () => Promise.reject(new Error('not used')),
    async *stream(request) {
      for (;;) {
        if (request.signal?.aborted) {
          aborted = true;
          throw request.signal.reason;
        }
        await new Promise((r) => setTimeout(r, everyMs));
        yield chunk;
      }
    },
    aborted: () => aborted,
  };
}

async function collect(stream: AsyncGenerator<AskEvent>): Promise<AskEvent[]> {
  const events: AskEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}

describe('askStream bounds', () => {
  it('cuts a stream that goes on past streamTimeoutMs, logs why, and answers extractively', async () => {
    const logged: { cause: unknown; message: string }[] = [];
    const model = endlessModel('on ', 5);
    const service = new AnswerService(search, encoder, model, { ...DEFAULT_ANSWER_SETTINGS, streamTimeoutMs: 150 }, null, ({ cause }, message) => logged.push({ cause, message }));
    const events = await collect(service.askStream({ question: 'seal 4471-B?' }));
    const final = events.at(-1)!;
    expect(final.kind === 'answer' && final.answer.mode).toBe('EXTRACTIVE');
    expect(model.aborted()).toBe(true);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toMatch(/did not finish its streamed answer in time/);
    expect(String((logged[0]!.cause as Error).message)).toMatch(/150 ms/);
  });

  it('cuts at maxStreamChars: what was streamed never passes the limit', async () => {
    const service = new AnswerService(search, encoder, endlessModel('x'.repeat(100), 0), { ...DEFAULT_ANSWER_SETTINGS, maxStreamChars: 1000 });
    const events = await collect(service.askStream({ question: 'seal 4471-B?' }));
    const streamed = events.reduce((n, e) => n + (e.kind === 'delta' ? e.text.length : 0), 0);
    expect(streamed).toBeLessThanOrEqual(1000);
    expect(events.at(-1)).toMatchObject({ kind: 'answer', answer: { mode: 'EXTRACTIVE' } });
  });

  it("ends with the caller's abort reason (no fallback answer) when the operation itself is over", async () => {
    const controller = new AbortController();
    const service = new AnswerService(search, encoder, endlessModel('on ', 5), { ...DEFAULT_ANSWER_SETTINGS, streamTimeoutMs: 60_000 });
    setTimeout(() => controller.abort(new Error('deadline')), 50);
    await expect(collect(service.askStream({ question: 'seal 4471-B?', signal: controller.signal }))).rejects.toThrow('deadline');
  });
});
