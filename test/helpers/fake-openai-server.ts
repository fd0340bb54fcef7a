/**
 * A fake OpenAI chat completions server: real HTTP on 127.0.0.1:0 (node:http), the real wire format.
 *
 * - `POST /v1/chat/completions`: JSON replies, or SSE (`data: {chunk}\n\n` … `data: [DONE]\n\n`) when
 *   the request says `stream: true`. `GET /v1/models` lists the configured models.
 * - Requests are validated against the essentials of the real protocol (known top-level arguments,
 *   model, messages with roles and content, content part shapes, images only in user messages, stream,
 *   stream_options, response_format, max_tokens, temperature) and answered 400 with an OpenAI-style
 *   error body when invalid, so an adapter is checked against the wire format, not against itself.
 * - Scripted per test: `enqueue(...)` replies are used first, in order; then `handle(fn)` decides; with
 *   neither, a 500 that tells the SDK not to retry (`x-should-retry: false`) says nothing was scripted.
 * - `supports.jsonSchema = false` models a server without structured output: any request with
 *   `response_format.type === 'json_schema'` gets a 400 naming response_format (no scripted reply is
 *   used up). `supports.jsonObject = false` does the same for json_object.
 * - Every request (valid or not, any path) is recorded in `requests` with its headers and body.
 *
 * @example
 *   const fake = await startFakeOpenAIServer({ apiKey: 'sk-test' });
 *   fake.enqueue({ kind: 'rate_limited', retryAfter: '1' }, { kind: 'text', text: 'Torque to 25 Nm.' });
 *   fake.handle((body) => (body.stream ? { kind: 'text', text: ['a', 'b'] } : { kind: 'json', value: { ok: true } }));
 *   fake.supports.jsonSchema = false;
 *   // … new OpenAIChatModel({ baseURL: fake.baseURL, apiKey: 'sk-test', model: FAKE_MODEL, … })
 *   expect(fake.chatRequests()).toHaveLength(2);
 *   await fake.close();
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const FAKE_MODEL = 'fake-model';

export interface WireTextPart {
  type: 'text';
  text: string;
}
export interface WireImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}
export type WirePart = WireTextPart | WireImagePart | { type: 'refusal'; refusal: string };

export interface WireMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';
  content: string | WirePart[] | null;
  [key: string]: unknown;
}

/** A validated chat completions request body. */
export interface ChatRequestBody {
  model: string;
  messages: WireMessage[];
  stream: boolean;
  response_format?: { type: 'text' | 'json_object' | 'json_schema'; json_schema?: { name: string; schema?: Record<string, unknown>; strict?: boolean | null } };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  [key: string]: unknown;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON body, or undefined when the body was not JSON. */
  body: unknown;
  /** Set when the client closed the connection before the reply was complete (an abort, a timeout). */
  clientClosed: boolean;
}

interface Pacing {
  /** Wait this long before answering at all. */
  delayMs?: number;
}

/** What the fake answers to one chat completions request. */
export type FakeReply = Pacing &
  (
    | {
        kind: 'text';
        /** The content; an array gives the exact stream deltas (joined for a non-streaming reply). A string streams word by word. */
        text: string | string[];
        finishReason?: 'stop' | 'length' | 'content_filter';
        /** Pause between stream chunks. */
        chunkDelayMs?: number;
      }
    /** `JSON.stringify(value)` as the content. */
    | { kind: 'json'; value: unknown }
    /** 429 with `retry-after` (seconds, default '0') and OpenAI's rate limit error body. */
    | { kind: 'rate_limited'; retryAfter?: string }
    /** 5xx (default 500) with OpenAI's server error body. */
    | { kind: 'server_error'; status?: number }
    /** Never answers. With `afterHeaders`, sends 200 and headers (and `partial` deltas when streaming), then stalls. */
    | { kind: 'hang'; afterHeaders?: boolean; partial?: string[] }
    /** 200 application/json with a body that is not JSON (for streams: a `data:` line that is not JSON). */
    | { kind: 'malformed_json' }
    /** 200 with `choices: []`. */
    | { kind: 'empty_choices' }
    /** 200 with `content: ''`. */
    | { kind: 'empty_content' }
    /** Any HTTP error with an OpenAI-style body. */
    | { kind: 'error'; status: number; message: string; type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> }
  );

export type FakeHandler = (body: ChatRequestBody, request: RecordedRequest) => FakeReply;

export interface FakeOpenAIServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401 like OpenAI). */
  apiKey?: string;
  /** Model ids that exist (others get OpenAI's 404 model_not_found). Default [FAKE_MODEL]. */
  models?: string[];
}

export interface FakeOpenAIServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** http://127.0.0.1:<port>/v1, what an OpenAI client takes as baseURL. */
  readonly baseURL: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** What the fake can do; mutable per test (reset() restores both to true). */
  readonly supports: { jsonSchema: boolean; jsonObject: boolean };
  /** The parsed bodies of the chat completions requests received (valid or not). */
  chatRequests(): ChatRequestBody[];
  /** Replies for the next requests, in order. */
  enqueue(...replies: FakeReply[]): void;
  /** Decides replies once the queue is empty (undefined removes it). */
  handle(handler: FakeHandler | undefined): void;
  /** Forgets requests, queue, handler and capability changes. */
  reset(): void;
  close(): Promise<void>;
}

const KNOWN_ARGUMENTS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'response_format', 'max_tokens', 'max_completion_tokens',
  'temperature', 'top_p', 'n', 'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs',
  'top_logprobs', 'user', 'tools', 'tool_choice', 'parallel_tool_calls', 'metadata', 'store', 'reasoning_effort',
  'service_tier', 'modalities', 'audio', 'prediction', 'web_search_options', 'verbosity', 'prompt_cache_key',
  'safety_identifier', 'functions', 'function_call',
]);
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'];
const PART_TYPES: Record<string, string[]> = {
  user: ['text', 'image_url', 'input_audio', 'file'],
  system: ['text'],
  developer: ['text'],
  assistant: ['text', 'refusal'],
  tool: ['text'],
  function: ['text'],
};

interface WireError {
  status: number;
  message: string;
  type?: string;
  param?: string | null;
  code?: string | null;
}

export async function startFakeOpenAIServer(options: FakeOpenAIServerOptions = {}): Promise<FakeOpenAIServer> {
  const models = options.models ?? [FAKE_MODEL];
  const requests: RecordedRequest[] = [];
  const queue: FakeReply[] = [];
  let handler: FakeHandler | undefined;
  const supports = { jsonSchema: true, jsonObject: true };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let counter = 0;

  const later = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, { status: 500, message: `fake-openai-server bug: ${String(error)}`, type: 'server_error' });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const recorded: RecordedRequest = { method: req.method ?? '', path, headers: req.headers, rawBody, body: parseJson(rawBody), clientClosed: false };
    requests.push(recorded);
    res.on('close', () => {
      if (!res.writableFinished) recorded.clientClosed = true;
    });

    const authError = checkAuth(req.headers, options.apiKey);
    if (authError) return sendError(res, authError);

    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })) });
    }
    if (path !== '/v1/chat/completions' || req.method !== 'POST') {
      return sendError(res, { status: 404, message: `Invalid URL (${req.method ?? ''} ${path})`, type: 'invalid_request_error' });
    }

    const validated = validateChatRequest(req.headers, recorded.body);
    if (!validated.ok) return sendError(res, validated.error);
    const body = validated.body;
    if (!models.includes(body.model)) {
      return sendError(res, {
        status: 404,
        message: `The model \`${body.model}\` does not exist or you do not have access to it.`,
        type: 'invalid_request_error',
        code: 'model_not_found',
      });
    }
    const format = body.response_format?.type;
    if ((format === 'json_schema' && !supports.jsonSchema) || (format === 'json_object' && !supports.jsonObject)) {
      return sendError(res, {
        status: 400,
        message: `response_format of type '${format}' is not supported by this server`,
        type: 'invalid_request_error',
        param: 'response_format',
      });
    }

    const reply = queue.shift() ?? handler?.(body, recorded);
    if (reply === undefined) {
      return sendError(res, { status: 500, message: 'fake-openai-server: no reply scripted for this request', type: 'server_error' }, { 'x-should-retry': 'false' });
    }
    if (reply.delayMs) await later(reply.delayMs);
    if (res.destroyed) return;
    const id = `chatcmpl-fake-${++counter}`;
    await answer(res, body, reply, id);
  }

  async function answer(res: ServerResponse, body: ChatRequestBody, reply: FakeReply, id: string): Promise<void> {
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
    const completion = (content: string, finishReason = 'stop') => ({
      id,
      object: 'chat.completion',
      created,
      model: body.model,
      system_fingerprint: null,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finishReason }],
      usage: { prompt_tokens: 10, completion_tokens: Math.max(1, Math.ceil(content.length / 4)), total_tokens: 10 + Math.ceil(content.length / 4) },
    });
    const startSse = () => res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const sse = (data: unknown) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

    switch (reply.kind) {
      case 'text':
      case 'json':
      case 'empty_content': {
        const deltas =
          reply.kind === 'json' ? [JSON.stringify(reply.value)]
          : reply.kind === 'empty_content' ? ['']
          : Array.isArray(reply.text) ? reply.text
          : (reply.text.match(/\S+\s*|\s+/g) ?? ['']);
        const finishReason = reply.kind === 'text' ? (reply.finishReason ?? 'stop') : 'stop';
        if (!body.stream) return sendJson(res, 200, completion(deltas.join(''), finishReason));
        startSse();
        sse(chunk({ role: 'assistant', content: '', refusal: null }));
        for (const delta of deltas) {
          if (reply.kind === 'text' && reply.chunkDelayMs) await later(reply.chunkDelayMs);
          if (res.destroyed) return;
          sse(chunk({ content: delta }));
        }
        sse(chunk({}, finishReason));
        sse('[DONE]');
        res.end();
        return;
      }
      case 'rate_limited':
        return sendError(
          res,
          { status: 429, message: `Rate limit reached for ${body.model} on requests per min (RPM): Limit 3, Used 3, Requested 1.`, type: 'requests', code: 'rate_limit_exceeded' },
          { 'retry-after': reply.retryAfter ?? '0' },
        );
      case 'server_error':
        return sendError(res, { status: reply.status ?? 500, message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error' });
      case 'error':
        return sendError(res, { status: reply.status, message: reply.message, type: reply.type ?? 'invalid_request_error', param: reply.param ?? null, code: reply.code ?? null }, reply.headers);
      case 'hang':
        if (!reply.afterHeaders) return; // the connection stays open until the client gives up or close()
        if (body.stream) {
          startSse();
          sse(chunk({ role: 'assistant', content: '', refusal: null }));
          for (const delta of reply.partial ?? []) sse(chunk({ content: delta }));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"id":"' + id + '","object":"chat.completion",');
        }
        return;
      case 'malformed_json':
        if (body.stream) {
          startSse();
          sse('{"id":"' + id + '","choices":[{"delta":{"content":"unterminated');
          sse('[DONE]');
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"id":"' + id + '","object":"chat.completion","choices":[{"index":0,"message":{"role":"assist');
        return;
      case 'empty_choices':
        if (!body.stream) return sendJson(res, 200, { ...completion(''), choices: [] });
        startSse();
        sse({ ...chunk({}), choices: [] });
        sse('[DONE]');
        res.end();
        return;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    supports,
    chatRequests: () => requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body as ChatRequestBody),
    enqueue: (...replies) => void queue.push(...replies),
    handle: (fn) => {
      handler = fn;
    },
    reset: () => {
      requests.length = 0;
      queue.length = 0;
      handler = undefined;
      supports.jsonSchema = true;
      supports.jsonObject = true;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// -------------------------------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: WireError, headers: Record<string, string> = {}): void {
  sendJson(
    res,
    error.status,
    { error: { message: error.message, type: error.type ?? 'invalid_request_error', param: error.param ?? null, code: error.code ?? null } },
    headers,
  );
}

function checkAuth(headers: IncomingHttpHeaders, apiKey: string | undefined): WireError | undefined {
  if (apiKey === undefined) return undefined;
  const header = headers.authorization;
  if (!header) {
    return {
      status: 401,
      message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      type: 'invalid_request_error',
    };
  }
  const given = header.replace(/^Bearer\s+/i, '');
  if (given === apiKey) return undefined;
  // Like OpenAI, echo a masked form of the key that was given.
  const masked = given.length > 8 ? `${given.slice(0, 3)}*****${given.slice(-4)}` : '*****';
  return {
    status: 401,
    message: `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string, param: string | null, code: string | null = null): Rejection {
  return new Rejection({ status: 400, message, type: 'invalid_request_error', param, code });
}

function invalidType(param: string, expected: string, value: unknown): Rejection {
  return invalid(`Invalid type for '${param}': expected ${expected}, but got ${typeName(value)} instead.`, param, 'invalid_type');
}

/** The essentials of OpenAI's request validation for POST /v1/chat/completions. */
export function validateChatRequest(headers: IncomingHttpHeaders, parsed: unknown): { ok: true; body: ChatRequestBody } | { ok: false; error: WireError } {
  const result = check(headers, parsed);
  return result instanceof Rejection ? { ok: false, error: result.error } : { ok: true, body: result };
}

/** An invalid request, as a value distinct from any request body. */
class Rejection {
  constructor(readonly error: WireError) {}
}

function check(headers: IncomingHttpHeaders, parsed: unknown): ChatRequestBody | Rejection {
  const contentType = headers['content-type'] ?? '';
  if (!contentType.toLowerCase().startsWith('application/json') || parsed === undefined) {
    return invalid(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      null,
    );
  }
  if (!isRecord(parsed)) return invalid(`Invalid type for request body: expected an object, but got ${typeName(parsed)} instead.`, null, 'invalid_type');
  const body = parsed;
  for (const key of Object.keys(body)) {
    if (!KNOWN_ARGUMENTS.has(key)) return invalid(`Unrecognized request argument supplied: ${key}`, null);
  }
  if (body['model'] === undefined || body['model'] === '') return invalid('you must provide a model parameter', null);
  if (typeof body['model'] !== 'string') return invalidType('model', 'a string', body['model']);

  const messages = body['messages'];
  if (messages === undefined) return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(messages)) return invalidType('messages', 'an array', messages);
  if (messages.length === 0) {
    return invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'messages', 'empty_array');
  }
  for (const [i, message] of messages.entries()) {
    const at = `messages[${i}]`;
    if (!isRecord(message)) return invalidType(at, 'an object', message);
    const role = message['role'];
    if (role === undefined) return invalid(`Missing required parameter: '${at}.role'.`, `${at}.role`, 'missing_required_parameter');
    if (typeof role !== 'string' || !ROLES.includes(role)) {
      return invalid(`Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`, `${at}.role`, 'invalid_value');
    }
    const content = message['content'];
    if (content === undefined || content === null) {
      if (role === 'assistant' && message['tool_calls'] !== undefined) continue;
      return invalid(`Missing required parameter: '${at}.content'.`, `${at}.content`, 'missing_required_parameter');
    }
    if (typeof content === 'string') continue;
    if (!Array.isArray(content)) return invalidType(`${at}.content`, 'one of a string or array of objects', content);
    if (content.length === 0) {
      return invalid(`Invalid '${at}.content': empty array. Expected an array with minimum length 1, but got an empty array instead.`, `${at}.content`, 'empty_array');
    }
    for (const [j, part] of content.entries()) {
      const pat = `${at}.content[${j}]`;
      if (!isRecord(part)) return invalidType(pat, 'an object', part);
      const type = part['type'];
      if (type === 'image_url' && role !== 'user') {
        return invalid(`Image URLs are only allowed for messages with role 'user', but this message with role '${role}' contains an image URL.`, `${at}.content`, 'invalid_value');
      }
      const allowed = PART_TYPES[role] ?? ['text'];
      if (typeof type !== 'string' || !allowed.includes(type)) {
        return invalid(`Invalid value: '${String(type)}'. Supported values are: ${allowed.map((t) => `'${t}'`).join(', ')}.`, `${pat}.type`, 'invalid_value');
      }
      if (type === 'text' && typeof part['text'] !== 'string') {
        return part['text'] === undefined
          ? invalid(`Missing required parameter: '${pat}.text'.`, `${pat}.text`, 'missing_required_parameter')
          : invalidType(`${pat}.text`, 'a string', part['text']);
      }
      if (type === 'image_url') {
        const image = part['image_url'];
        if (!isRecord(image)) return invalid(`Missing required parameter: '${pat}.image_url'.`, `${pat}.image_url`, 'missing_required_parameter');
        const url = image['url'];
        if (typeof url !== 'string') return invalidType(`${pat}.image_url.url`, 'a string', url);
        if (!/^https?:\/\//.test(url) && !/^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+=*$/.test(url)) {
          return invalid(`Invalid 'image_url'. Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,...') or an https URL.`, `${pat}.image_url.url`, 'invalid_value');
        }
        const detail = image['detail'];
        if (detail !== undefined && !['auto', 'low', 'high'].includes(String(detail))) {
          return invalid(`Invalid value: '${String(detail)}'. Supported values are: 'auto', 'low', and 'high'.`, `${pat}.image_url.detail`, 'invalid_value');
        }
      }
    }
  }

  const stream = body['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') return invalidType('stream', 'a boolean', stream);
  if (body['stream_options'] !== undefined && body['stream_options'] !== null && stream !== true) {
    return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options', 'invalid_value');
  }
  for (const key of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) return invalidType(key, 'an integer', v);
    if (v < 1) return invalid(`Invalid '${key}': integer below minimum value. Expected a value >= 1, but got ${v} instead.`, key, 'integer_below_min_value');
  }
  const temperature = body['temperature'];
  if (temperature !== undefined && temperature !== null) {
    if (typeof temperature !== 'number') return invalidType('temperature', 'a decimal', temperature);
    if (temperature < 0 || temperature > 2) {
      return invalid(`Invalid 'temperature': decimal out of range. Expected a value between 0 and 2, but got ${temperature} instead.`, 'temperature', 'decimal_out_of_range');
    }
  }

  const format = body['response_format'];
  if (format !== undefined && format !== null) {
    if (!isRecord(format)) return invalidType('response_format', 'an object', format);
    const type = format['type'];
    if (type !== 'text' && type !== 'json_object' && type !== 'json_schema') {
      return invalid(`Invalid value: '${String(type)}'. Supported values are: 'text', 'json_object', and 'json_schema'.`, 'response_format.type', 'invalid_value');
    }
    if (type === 'json_schema') {
      const spec = format['json_schema'];
      if (!isRecord(spec)) return invalid("Missing required parameter: 'response_format.json_schema'.", 'response_format.json_schema', 'missing_required_parameter');
      const name = spec['name'];
      if (typeof name !== 'string') return invalid("Missing required parameter: 'response_format.json_schema.name'.", 'response_format.json_schema.name', 'missing_required_parameter');
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
        return invalid(`Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, 'response_format.json_schema.name', 'invalid_value');
      }
      const schema = spec['schema'];
      if (schema !== undefined && !isRecord(schema)) return invalidType('response_format.json_schema.schema', 'an object', schema);
      const strict = spec['strict'];
      if (strict !== undefined && strict !== null && typeof strict !== 'boolean') return invalidType('response_format.json_schema.strict', 'a boolean', strict);
      if (strict === true && isRecord(schema)) {
        const problem = strictSchemaProblem(schema, []);
        if (problem) return invalid(`Invalid schema for response_format '${name}': ${problem}`, 'response_format', 'invalid_json_schema');
      }
    }
  }
  return { ...body, model: body['model'], messages: messages as WireMessage[], stream: stream === true } as ChatRequestBody;
}

/** OpenAI strict mode: every object closes additionalProperties and requires all its properties. */
function strictSchemaProblem(schema: Record<string, unknown>, path: string[]): string | undefined {
  const where = `In context=(${path.map((p) => `'${p}'`).join(', ')})`;
  if (path.length === 0 && schema['type'] !== 'object') return `${where}, schema must be a JSON Schema of 'type: "object"', got 'type: "${String(schema['type'])}"'.`;
  if (schema['type'] === 'object') {
    if (schema['additionalProperties'] !== false) return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const properties = isRecord(schema['properties']) ? schema['properties'] : {};
    const required = Array.isArray(schema['required']) ? schema['required'] : [];
    const missing = Object.keys(properties).filter((key) => !required.includes(key));
    if (missing.length > 0) {
      return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    }
    for (const [key, sub] of Object.entries(properties)) {
      if (isRecord(sub)) {
        const problem = strictSchemaProblem(sub, [...path, 'properties', key]);
        if (problem) return problem;
      }
    }
  }
  if (schema['type'] === 'array' && isRecord(schema['items'])) return strictSchemaProblem(schema['items'], [...path, 'items']);
  return undefined;
}
