/**
 * `OpenAIChatModel`: the ChatModel port on the official `openai` client, for OpenAI and
 * OpenAI-compatible servers (Ollama `…:11434/v1`, vLLM, llama.cpp `llama-server`).
 *
 * - Timeout and retries are always explicit (the SDK defaults are 10 minutes and 2 retries).
 *   `timeoutMs` bounds each attempt: for `complete` the whole response (headers and body), for
 *   `stream` the wait for the response headers and then each gap between chunks.
 * - Structured output: `json_schema` (strict) first; a server that rejects it (400/422 about
 *   response_format) or answers non-JSON gets `json_object`, then a plain prompt instruction, and the
 *   JSON object is extracted from the text. The mode that worked is remembered per instance.
 * - Errors become `ChatModelError` with a reason; a caller's abort rejects with `signal.reason`.
 * - The SDK never reads process.env here (config.ts does) and never logs (stdout carries JSON logs).
 *   The API key is never logged nor put in an error message.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import {
  ChatModelError,
  type ChatCompletion,
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
} from './chat-model.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** How JSON is asked for, most to least capable. */
export type StructuredOutputMode = 'json_schema' | 'json_object' | 'prompt';

const MODES: readonly StructuredOutputMode[] = ['json_schema', 'json_object', 'prompt'];

export interface OpenAIChatModelOptions {
  /** OPENAI_BASE_URL; default https://api.openai.com/v1. */
  baseURL?: string;
  /** OPENAI_API_KEY; omit for local servers that need none (no Authorization header is sent then). */
  apiKey?: string;
  /** LLM_MODEL. */
  model: string;
  /** LLM_TIMEOUT_MS: per attempt (see the file comment). */
  timeoutMs: number;
  /** LLM_MAX_RETRIES: retries after the first attempt, on connection errors, timeouts, 408/409/429/5xx. */
  maxRetries: number;
  /** LLM_VISION: whether image content parts may be sent. */
  supportsImages: boolean;
  /** Injectable for tests; defaults to Node's global fetch. */
  fetch?: FetchLike;
  /** LLM_STRUCTURED_OUTPUT: the first structured-output mode to try. Default 'json_schema'. */
  structuredOutput?: StructuredOutputMode;
  /** LLM_MAX_TOKENS_FIELD: the request field for `maxTokens` (o-series and gpt-5 want max_completion_tokens). Default 'max_tokens'. */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /** LLM_MAX_RETRY_WAIT_MS: the longest retry-after honoured; beyond it the call fails at once as rate_limited. Default 10 000. */
  maxRetryWaitMs?: number;
  /** Told when the server made us fall back to a less capable structured-output mode (for a log line). */
  onStructuredOutputFallback?: (event: { from: StructuredOutputMode; to: StructuredOutputMode; reason: string }) => void;
}

type StreamRequest = Omit<ChatRequest, 'jsonSchema'>;
type JsonSchemaSpec = NonNullable<ChatRequest['jsonSchema']>;

export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  readonly supportsImages: boolean;
  private readonly client: OpenAI;
  private readonly timeoutMs: number;
  private readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  private readonly apiKey: string | undefined;
  private readonly host: string;
  private readonly onFallback: OpenAIChatModelOptions['onStructuredOutputFallback'];
  private mode: StructuredOutputMode;

  constructor(options: OpenAIChatModelOptions) {
    if (!options.model) throw new TypeError('OpenAIChatModel: model is required');
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new TypeError('OpenAIChatModel: timeoutMs must be a positive integer');
    }
    if (!Number.isInteger(options.maxRetries) || options.maxRetries < 0) {
      throw new TypeError('OpenAIChatModel: maxRetries must be a non-negative integer');
    }
    this.id = options.model;
    this.supportsImages = options.supportsImages;
    this.timeoutMs = options.timeoutMs;
    this.maxTokensField = options.maxTokensField ?? 'max_tokens';
    this.mode = options.structuredOutput ?? 'json_schema';
    this.onFallback = options.onStructuredOutputFallback;
    this.apiKey = options.apiKey || undefined;
    const baseURL = options.baseURL ?? 'https://api.openai.com/v1';
    this.host = safeHost(baseURL);
    this.client = new OpenAI({
      baseURL,
      // Without a key the SDK refuses to start; send none at all (Authorization: null below) instead.
      apiKey: this.apiKey ?? 'no-api-key',
      ...(this.apiKey === undefined ? { defaultHeaders: { Authorization: null } } : {}),
      // Explicit nulls so the SDK does not read OPENAI_ADMIN_KEY / OPENAI_ORG_ID / ... from the environment.
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
      fetch: bufferingFetch(options.fetch ?? globalThis.fetch, options.maxRetryWaitMs ?? 10_000),
      logLevel: 'off',
    });
  }

  /** The structured-output mode the next `complete` with a schema starts with. */
  get structuredOutputMode(): StructuredOutputMode {
    return this.mode;
  }

  async complete(request: ChatRequest): Promise<ChatCompletion> {
    const messages = this.toWireMessages(request.messages); // throws before any request (images)
    const schema = request.jsonSchema;
    if (schema === undefined) {
      const reply = await this.send(this.params(request, messages), request.signal);
      return { text: reply.text, model: reply.model, ...finish(reply.finishReason) };
    }

    let lastProblem = '';
    for (let i = MODES.indexOf(this.mode); i < MODES.length; i++) {
      const mode = MODES[i] ?? 'prompt';
      const next = MODES[i + 1];
      const wire = mode === 'json_schema' ? messages : this.toWireMessages(withInstruction(request.messages, schema));
      const params = this.params(request, wire, mode, schema);
      let reply: WireReply;
      try {
        reply = await this.send(params, request.signal, next !== undefined);
      } catch (error) {
        if (error instanceof StructuredOutputRejected && next !== undefined) {
          this.downgrade(mode, next, error.message);
          lastProblem = error.message;
          continue;
        }
        throw error;
      }
      const json = extractJson(reply.text);
      if (json !== undefined) {
        this.mode = mode;
        return { text: reply.text, json, model: reply.model, ...finish(reply.finishReason) };
      }
      if (reply.finishReason === 'length') {
        throw new ChatModelError(
          'bad_response',
          'The language model reply was cut off (the token limit was reached) before the JSON was complete.',
        );
      }
      // A non-JSON reply is not remembered as a downgrade by itself: `this.mode` moves only when a
      // lower mode then works (or the server rejects a mode outright).
      lastProblem = `the ${mode} reply was not JSON`;
    }
    throw new ChatModelError('bad_response', `The language model did not produce the JSON object asked for (${lastProblem}).`);
  }

  async *stream(request: StreamRequest): AsyncGenerator<string, void, undefined> {
    const messages = this.toWireMessages(request.messages);
    const signal = request.signal;
    const params: ChatCompletionCreateParamsStreaming = { ...this.params(request, messages), stream: true };
    let stream: AsyncIterable<ChatCompletionChunk> & { controller: AbortController };
    try {
      stream = await raceAbort(this.client.chat.completions.create(params, requestOptions(signal)), signal);
    } catch (error) {
      throw this.toError(error, signal);
    }
    const iterator = stream[Symbol.asyncIterator]();
    let finished = false;
    let produced = 0;
    try {
      for (;;) {
        let result: IteratorResult<ChatCompletionChunk>;
        try {
          result = await this.nextWithin(iterator, stream.controller, signal);
        } catch (error) {
          throw this.toError(error, signal);
        }
        if (result.done) break;
        const delta = readDelta(result.value);
        if (delta.refused !== undefined) {
          throw new ChatModelError('refused', `The language model declined to answer${delta.refused ? `: ${this.clean(delta.refused)}` : '.'}`);
        }
        if (delta.content) {
          produced++;
          yield delta.content;
        }
      }
      finished = true;
    } finally {
      if (!finished) stream.controller.abort(); // consumer stopped early, or an error: close the connection
    }
    if (signal?.aborted) throw signal.reason;
    if (produced === 0) throw new ChatModelError('bad_response', 'The language model streamed an empty reply.');
  }

  // ---------------------------------------------------------------------------------------------

  private params(
    request: StreamRequest,
    messages: ChatCompletionMessageParam[],
    mode?: StructuredOutputMode,
    schema?: JsonSchemaSpec,
  ): ChatCompletionCreateParamsNonStreaming {
    const params: ChatCompletionCreateParamsNonStreaming = { model: this.id, messages };
    if (request.maxTokens !== undefined) {
      if (this.maxTokensField === 'max_tokens') params.max_tokens = request.maxTokens;
      else params.max_completion_tokens = request.maxTokens;
    }
    if (request.temperature !== undefined) params.temperature = request.temperature;
    if (mode === 'json_schema' && schema !== undefined) {
      params.response_format = {
        type: 'json_schema',
        json_schema: { name: schemaName(schema.name), schema: schema.schema, strict: true },
      };
    } else if (mode === 'json_object') {
      params.response_format = { type: 'json_object' };
    }
    return params;
  }

  /**
   * One chat completion. With `structuredFallbackAllowed`, a 400/422 about response_format becomes a
   * StructuredOutputRejected (so the caller tries the next mode) instead of a ChatModelError.
   */
  private async send(params: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal | undefined, structuredFallbackAllowed = false): Promise<WireReply> {
    let body: unknown;
    try {
      body = await raceAbort(this.client.chat.completions.create(params, requestOptions(signal)), signal);
    } catch (error) {
      if (structuredFallbackAllowed && params.response_format !== undefined && !signal?.aborted) {
        const rejection = structuredOutputRejection(error);
        if (rejection !== undefined) throw new StructuredOutputRejected(this.clean(rejection));
      }
      throw this.toError(error, signal);
    }
    return this.readReply(body);
  }

  private readReply(body: unknown): WireReply {
    if (!isRecord(body)) {
      throw new ChatModelError('bad_response', 'The language model server did not answer with a JSON chat completion.');
    }
    const choices = body['choices'];
    if (!Array.isArray(choices) || choices.length === 0) {
      throw new ChatModelError('bad_response', 'The language model server answered without any choices.');
    }
    const choice: unknown = choices[0];
    const message = isRecord(choice) ? choice['message'] : undefined;
    const finishReason = isRecord(choice) && typeof choice['finish_reason'] === 'string' ? choice['finish_reason'] : undefined;
    const refusal = isRecord(message) ? message['refusal'] : undefined;
    if (typeof refusal === 'string' && refusal !== '') {
      throw new ChatModelError('refused', `The language model declined to answer: ${this.clean(refusal)}`);
    }
    if (finishReason === 'content_filter') {
      throw new ChatModelError('refused', 'The language model server withheld the answer (content filter).');
    }
    const content = isRecord(message) ? message['content'] : undefined;
    if (typeof content !== 'string' || content.trim() === '') {
      throw new ChatModelError('bad_response', 'The language model returned an empty reply.');
    }
    const model = typeof body['model'] === 'string' && body['model'] !== '' ? body['model'] : this.id;
    return { text: content, model, finishReason };
  }

  private toWireMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
    return messages.map((message): ChatCompletionMessageParam => {
      if (typeof message.content === 'string') return { role: message.role, content: message.content };
      const hasImage = message.content.some((part) => part.type === 'image');
      if (!hasImage) {
        // Text-only parts are sent as one string: servers without multi-part support accept it too.
        const text = message.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
        return { role: message.role, content: text };
      }
      if (!this.supportsImages) {
        throw new ChatModelError(
          'refused',
          `Images cannot be sent to the language model "${this.id}": it is not configured as vision-capable (LLM_VISION=true enables images for a model that accepts them).`,
        );
      }
      if (message.role !== 'user') {
        throw new ChatModelError('refused', `Images can only be sent in user messages, not in a ${message.role} message.`);
      }
      const parts = message.content.map((part): ChatCompletionContentPart =>
        part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', image_url: { url: part.dataUrl } },
      );
      return { role: 'user', content: parts };
    });
  }

  /** The next stream chunk, or a timeout when none comes within timeoutMs, or the caller's abort. */
  private nextWithin<T>(iterator: AsyncIterator<T>, controller: AbortController, signal: AbortSignal | undefined): Promise<IteratorResult<T>> {
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      const onAbort = (): void => {
        cleanup();
        controller.abort();
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        cleanup();
        controller.abort();
        reject(new ChatModelError('timeout', `The language model stopped streaming (no data for ${this.timeoutMs} ms).`));
      }, this.timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      iterator.next().then(
        (result) => {
          cleanup();
          resolve(result);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
    });
  }

  private downgrade(from: StructuredOutputMode, to: StructuredOutputMode, reason: string): void {
    if (MODES.indexOf(this.mode) < MODES.indexOf(to)) this.mode = to;
    this.onFallback?.({ from, to, reason });
  }

  /** Maps anything thrown by the SDK (or fetch) to a ChatModelError; the caller's abort to its reason. */
  private toError(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (error instanceof ChatModelError) return error;
    if (error instanceof APIConnectionTimeoutError) {
      return new ChatModelError('timeout', `The language model did not answer within ${this.timeoutMs} ms.`, { cause: error });
    }
    if (error instanceof APIUserAbortError) {
      return new ChatModelError('timeout', 'The language model request was aborted.', { cause: error });
    }
    if (error instanceof APIConnectionError) {
      return new ChatModelError('unavailable', `Could not reach the language model server (${this.host}).`, { cause: error });
    }
    if (error instanceof APIError) {
      const status = typeof error.status === 'number' ? error.status : undefined;
      const detail = this.clean(serverMessage(error));
      const suffix = detail ? `: ${detail}` : '.';
      if (status === undefined) {
        return new ChatModelError('unavailable', `The language model server reported an error while answering${suffix}`, { cause: error });
      }
      if (status === 401 || status === 403) {
        // No server text: some servers echo (part of) the key they were given.
        return new ChatModelError('auth', `The language model server rejected the credentials (HTTP ${status}); check OPENAI_API_KEY.`, {
          cause: error,
          status,
        });
      }
      if (status === 429) {
        const retryAfterMs = retryAfter(error.headers);
        return new ChatModelError('rate_limited', `The language model server is rate limiting requests (HTTP 429)${suffix}`, {
          cause: error,
          status,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      }
      if (status === 408) {
        return new ChatModelError('timeout', `The language model server timed out (HTTP 408)${suffix}`, { cause: error, status });
      }
      if (status === 404) {
        return new ChatModelError('unavailable', `The language model server does not know model "${this.id}" or the endpoint (HTTP 404)${suffix}`, {
          cause: error,
          status,
        });
      }
      if (status >= 500 || status === 409) {
        return new ChatModelError('unavailable', `The language model server failed (HTTP ${status})${suffix}`, { cause: error, status });
      }
      return new ChatModelError('refused', `The language model server refused the request (HTTP ${status})${suffix}`, { cause: error, status });
    }
    if (error instanceof SyntaxError) {
      return new ChatModelError('bad_response', 'The language model server sent malformed JSON.', { cause: error });
    }
    if (isAbortLike(error)) {
      return new ChatModelError('timeout', `The language model did not answer within ${this.timeoutMs} ms.`, { cause: error });
    }
    return new ChatModelError('unavailable', `The language model call failed (${this.host}).`, { cause: error });
  }

  /** Server text made safe for messages: no API key, no bearer tokens, bounded length. */
  private clean(text: string): string {
    let out = text;
    if (this.apiKey !== undefined && this.apiKey.length >= 4) out = out.split(this.apiKey).join('[redacted]');
    out = out.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]').replace(/\bsk-[A-Za-z0-9_*.-]{4,}/g, '[redacted]');
    out = out.replace(/\s+/g, ' ').trim();
    return out.length > 300 ? `${out.slice(0, 297)}...` : out;
  }
}

// -------------------------------------------------------------------------------------------------

interface WireReply {
  text: string;
  model: string;
  finishReason: string | undefined;
}

class StructuredOutputRejected extends Error {}

function requestOptions(signal: AbortSignal | undefined): { signal: AbortSignal } | undefined {
  return signal === undefined ? undefined : { signal };
}

function finish(reason: string | undefined): { finishReason?: string } {
  return reason === undefined ? {} : { finishReason: reason };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbortLike(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
  return name === 'AbortError' || name === 'TimeoutError';
}

function safeHost(url: string): string {
  try {
    return new URL(url).host; // never the userinfo part
  } catch {
    return 'invalid base URL';
  }
}

/** OpenAI restricts json_schema names to [a-zA-Z0-9_-]{1,64}. */
function schemaName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return cleaned || 'response';
}

/** The server's own error text (`error.message` of the body), without the SDK's status prefix. */
function serverMessage(error: APIError): string {
  const body: unknown = error.error;
  if (isRecord(body) && typeof body['message'] === 'string') return body['message'];
  return error.message.replace(/^\d{3}\s+/, '');
}

/**
 * When `error` says the server cannot do the requested response_format, the reason in words.
 * OpenAI-compatible servers without structured output answer 400/422 naming response_format or
 * json_schema; an invalid schema is a bug to surface, not a reason to fall back.
 */
function structuredOutputRejection(error: unknown): string | undefined {
  if (!(error instanceof APIError) || (error.status !== 400 && error.status !== 422)) return undefined;
  const text = serverMessage(error);
  if (/invalid schema/i.test(text)) return undefined;
  if (error.param === 'response_format' || /response_format|json_schema|json_object|structured output/i.test(text)) {
    return `HTTP ${error.status}: ${text}`;
  }
  return undefined;
}

/** Milliseconds from retry-after-ms / retry-after (seconds or an HTTP date). */
function retryAfter(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number.parseFloat(ms))) return Math.max(0, Number.parseFloat(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * A fetch for the SDK that reads non-streaming bodies completely before handing the response over.
 * The SDK's per-attempt timeout only runs until fetch resolves (the headers); reading the body here
 * puts the body under it too, so a server that stalls mid-body times out (and is retried) like one
 * that never answers. It also turns off the SDK's retry when retry-after exceeds `maxRetryWaitMs`
 * (the SDK would otherwise sleep that long, unabortably).
 */
function bufferingFetch(base: FetchLike, maxRetryWaitMs: number): FetchLike {
  return async (input, init) => {
    const response = await base(input, init);
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && type.includes('text/event-stream')) return response;
    const headers = new Headers(response.headers);
    if (!response.ok) {
      const wait = retryAfter(headers);
      if (wait !== undefined && wait > maxRetryWaitMs) headers.set('x-should-retry', 'false');
    }
    const nullBody = response.status === 204 || response.status === 205 || response.status === 304;
    const body = nullBody ? null : await response.arrayBuffer();
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
  };
}

/** Resolves like `promise`, or rejects with `signal.reason` as soon as the caller aborts. */
function raceAbort<T>(promise: PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  const settled = Promise.resolve(promise);
  if (!signal) return settled;
  settled.catch(() => undefined); // the SDK's own rejection after an abort is not interesting
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    settled.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function readDelta(chunk: unknown): { content?: string; refused?: string } {
  if (!isRecord(chunk) || !Array.isArray(chunk['choices'])) return {};
  const choice: unknown = chunk['choices'][0];
  if (!isRecord(choice)) return {};
  if (choice['finish_reason'] === 'content_filter') return { refused: '' };
  const delta = choice['delta'];
  if (!isRecord(delta)) return {};
  if (typeof delta['refusal'] === 'string' && delta['refusal'] !== '') return { refused: delta['refusal'] };
  return typeof delta['content'] === 'string' ? { content: delta['content'] } : {};
}

/** Adds the JSON instruction to the system message (or a new one first): for json_object and prompt modes. */
function withInstruction(messages: ChatMessage[], schema: JsonSchemaSpec): ChatMessage[] {
  const instruction = `Reply with only a JSON object matching this schema, with no other text:\n${JSON.stringify(schema.schema)}`;
  const [first, ...rest] = messages;
  if (first?.role === 'system') {
    const content = typeof first.content === 'string' ? `${first.content}\n\n${instruction}` : [...first.content, { type: 'text' as const, text: instruction }];
    return [{ role: 'system', content }, ...rest];
  }
  return [{ role: 'system', content: instruction }, ...messages];
}

/**
 * The JSON object (or array) in a model's text: the whole text, a ```json fenced block, or the first
 * balanced {...} that parses, with prose around it tolerated. Undefined when there is none.
 */
export function extractJson(text: string): unknown {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  const whole = parseStructured(trimmed);
  if (whole !== undefined) return whole;
  for (const match of trimmed.matchAll(/```[a-zA-Z]*[ \t]*\r?\n?([\s\S]*?)```/g)) {
    const fenced = parseStructured((match[1] ?? '').trim());
    if (fenced !== undefined) return fenced;
  }
  let from = trimmed.indexOf('{');
  for (let attempts = 0; from !== -1 && attempts < 50; attempts++) {
    const end = balancedEnd(trimmed, from);
    if (end !== -1) {
      const candidate = parseStructured(trimmed.slice(from, end + 1));
      if (candidate !== undefined) return candidate;
    }
    from = trimmed.indexOf('{', from + 1);
  }
  return undefined;
}

function parseStructured(text: string): unknown {
  if (!(text.startsWith('{') || text.startsWith('['))) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Index of the bracket closing the one at `start`, skipping brackets inside strings; -1 if unbalanced. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
