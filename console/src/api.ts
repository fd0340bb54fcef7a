/**
 * The console's only way to the server: the public GraphQL API.
 * - queries and mutations: POST /graphql with JSON;
 * - files: the GraphQL multipart request spec (operations, map, file parts) with the
 *   Apollo-Require-Preflight header that Apollo's CSRF protection asks of multipart requests, sent
 *   with XMLHttpRequest because fetch cannot report upload progress. Written here rather than taken
 *   from apollo-upload-client, which would bring Apollo Client for one request shape;
 * - askStream: graphql-ws over WebSocket on the same path, the key in connectionParams.
 * The API key lives in sessionStorage (gone when the tab closes); the page itself holds no secret.
 */
import { createClient, type Client } from 'graphql-ws';
import { errorSentence, type ApiErrorShape } from './text.js';

const KEY_STORAGE = 'fieldscope-key';
const ENDPOINT = '/graphql';

export function storedKey(): string {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function storeKey(key: string): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  closeStreamClient();
}

/** An API refusal, already worded for people; `code` is the API's stable code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: ApiErrorShape[];
}

function authHeaders(): Record<string, string> {
  const key = storedKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

function unwrap<T>(body: GraphQLBody<T> | null, status: number): T {
  if (body?.errors && body.errors.length > 0) {
    const code = body.errors[0]?.extensions?.code;
    throw new ApiError(errorSentence(body.errors, status), typeof code === 'string' ? code : undefined, status);
  }
  if (!body?.data) throw new ApiError(errorSentence(undefined, status), undefined, status);
  return body.data;
}

function parse<T>(text: string): GraphQLBody<T> | null {
  try {
    return JSON.parse(text) as GraphQLBody<T>;
  } catch {
    return null;
  }
}

/** A query or mutation without files. */
export async function request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(ENDPOINT, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new ApiError(errorSentence(undefined, 0), 'NETWORK', 0);
  }
  return unwrap(parse<T>(await res.text()), res.status);
}

export interface UploadResult<T> {
  data: T;
}

/** A query or mutation with files (GraphQL multipart request spec); `onProgress` gets 0..1 of the bytes sent. */
export function upload<T>(query: string, variables: Record<string, unknown>, files: Record<string, File>, onProgress?: (fraction: number) => void): Promise<UploadResult<T>> {
  const vars: Record<string, unknown> = { ...variables };
  const map: Record<string, string[]> = {};
  const names = Object.keys(files);
  names.forEach((name, i) => {
    vars[name] = null;
    map[String(i)] = [`variables.${name}`];
  });
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: vars }));
  form.append('map', JSON.stringify(map));
  names.forEach((name, i) => form.append(String(i), files[name]!, files[name]!.name));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', ENDPOINT);
    xhr.setRequestHeader('apollo-require-preflight', 'true');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    if (onProgress) xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(errorSentence(undefined, 0), 'NETWORK', 0));
    xhr.onload = () => {
      try {
        const data = unwrap(parse<T>(xhr.responseText), xhr.status);
        resolve({ data });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
    xhr.send(form);
  });
}

let streamClient: Client | null = null;

function closeStreamClient(): void {
  void streamClient?.dispose();
  streamClient = null;
}

function client(): Client {
  streamClient ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${ENDPOINT}`,
    connectionParams: () => authHeaders(),
    lazy: true,
    retryAttempts: 0,
  });
  return streamClient;
}

/** Why a WebSocket closed, as a sentence (graphql-ws gives a CloseEvent or an array of errors). */
function streamError(error: unknown): ApiError {
  if (Array.isArray(error)) return new ApiError(errorSentence(error as ApiErrorShape[]), String((error[0] as ApiErrorShape | undefined)?.extensions?.code ?? ''), 200);
  const code = typeof error === 'object' && error !== null && 'code' in error ? Number((error as { code: unknown }).code) : 0;
  if (code === 4403) return new ApiError(errorSentence([{ message: '', extensions: { code: 'UNAUTHENTICATED' } }]), 'UNAUTHENTICATED', 401);
  const reason = typeof error === 'object' && error !== null && 'reason' in error ? String((error as { reason: unknown }).reason) : '';
  if (reason) return new ApiError(errorSentence([{ message: reason }]), undefined, 0);
  return new ApiError('The live answer connection closed unexpectedly. Try again.', 'NETWORK', 0);
}

/** A subscription: `onNext` per event; resolves when the server completes it. Returns a cancel function through `started`. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, onNext: (data: T) => void, started?: (cancel: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancel = client().subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors && result.errors.length > 0) {
            cancel();
            reject(new ApiError(errorSentence(result.errors as ApiErrorShape[]), String((result.errors[0] as ApiErrorShape).extensions?.code ?? ''), 200));
          } else if (result.data) onNext(result.data);
        },
        error: (error) => reject(streamError(error)),
        complete: () => resolve(),
      },
    );
    started?.(cancel);
  });
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return errorSentence(undefined, 0);
}
