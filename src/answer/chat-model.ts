/**
 * The language-model port. Everything in Fieldscope works without one (extractive answers,
 * template captions); with one configured it writes the prose. Adapters: openai-chat-model.ts
 * (OpenAI and OpenAI-compatible servers: Ollama, vLLM, llama.cpp).
 */

export type ChatContentPart = { type: 'text'; text: string } | { type: 'image'; dataUrl: string };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ChatContentPart[];
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Ask for a JSON object matching this schema (structured output). */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  maxTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
}

export interface ChatCompletion {
  /** The raw text the model produced. */
  text: string;
  /** Parsed JSON when `jsonSchema` was requested (validated only as JSON, not against the schema). */
  json?: unknown;
  model: string;
  /** Why generation stopped, as the server said it ('stop', 'length', …), when it did. */
  finishReason?: string;
}

export interface ChatModel {
  /** The model name as configured (LLM_MODEL). */
  readonly id: string;
  /** Whether images may be sent (LLM_VISION). */
  readonly supportsImages: boolean;
  complete(request: ChatRequest): Promise<ChatCompletion>;
  /** Text deltas as the model produces them. */
  stream(request: Omit<ChatRequest, 'jsonSchema'>): AsyncIterable<string>;
}

/**
 * Why a model call failed, in words a user can be shown (the adapter maps SDK errors to this).
 *
 * - `timeout`: no (complete) answer within the configured time, after the configured retries.
 * - `rate_limited`: HTTP 429 after the retries (or a retry-after longer than the adapter will wait).
 * - `unavailable`: the server cannot be reached, answers 5xx, or does not know the model (404).
 * - `bad_response`: the reply is unusable (malformed JSON, no choices, empty content, not the JSON asked for).
 * - `refused`: the server or model declined this request (HTTP 400/422, content filter, refusal, images
 *   sent to a model not configured for them).
 * - `auth`: HTTP 401/403 (missing or wrong API key). Messages never contain the key.
 *
 * A caller's own abort (`ChatRequest.signal`) is not a ChatModelError: the call rejects with `signal.reason`.
 */
export class ChatModelError extends Error {
  /** HTTP status of the failed response, when there was one. */
  readonly status?: number;
  /** How long the server asked us to wait before trying again (from retry-after), when it said. */
  readonly retryAfterMs?: number;

  constructor(
    readonly reason: 'timeout' | 'rate_limited' | 'unavailable' | 'bad_response' | 'refused' | 'auth',
    message: string,
    options?: { cause?: unknown; status?: number; retryAfterMs?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChatModelError';
    if (options?.status !== undefined) this.status = options.status;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}
