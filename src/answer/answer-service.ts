/**
 * Grounded answers and captions.
 *
 * ask: search (text and/or photo) → numbered sources → the model (or, without one or when it
 * fails, the extractive answerer) → every [n] checked against the sources actually given →
 * an Answer that cites pages, or says it does not know when nothing relevant was found.
 * A model failure never fails the request: it degrades to EXTRACTIVE with a warning.
 */
import sharp from 'sharp';
import { UPLOADED_IMAGE_INPUT } from '../clip/image-decode.js';
import type { ClipEncoder } from '../clip/clip-encoder.js';
import { InvalidInputError } from '../errors.js';
import { normalizeText } from '../text/normalize-text.js';
import { ZeroShotClassifier, FIELD_EQUIPMENT_LABELS } from '../identify/zero-shot.js';
import type { ReadTextResult } from '../ocr/text-reader.js';
import { extractiveCaption } from './caption-text.js';
import type { SearchService, SearchResultView } from '../search/search-service.js';
import type { DocumentRecord, PageRecord, PhotoRecord, SearchFilter } from '../store/knowledge-store.js';
import type { ModerationService } from '../moderation/moderation-service.js';
import { ChatModelError, type ChatModel } from './chat-model.js';
import { checkCitations } from './citations.js';
import { extractiveAnswer } from './extractive.js';
import { ANSWER_SCHEMA, buildAnswerMessages, buildCaptionMessages } from './prompt.js';
import { toSources, type Source } from './sources.js';

export type AnswerMode = 'LLM' | 'EXTRACTIVE';

export interface CitationView {
  marker: number;
  document: DocumentRecord | null;
  page: PageRecord | null;
  photo: PhotoRecord | null;
  snippet: string;
}

export interface AnswerView {
  text: string;
  mode: AnswerMode;
  citations: CitationView[];
  confidence: number | null;
  warnings: string[];
}

export interface CaptionView {
  text: string;
  mode: AnswerMode;
  tags: { label: string; score: number }[];
  citations: CitationView[];
  /** What was read on the photo (null: OCR=off, or the read failed). */
  readText: ReadTextResult | null;
}

export interface AnswerDeltaView {
  text: string;
}

export type AskEvent = { kind: 'delta'; text: string } | { kind: 'answer'; answer: AnswerView };

export interface AskInput {
  question?: string | null;
  image?: Uint8Array | null;
  filter?: SearchFilter;
  /** The operation's deadline / the client going away: search and the model call stop, nothing more is produced. */
  signal?: AbortSignal;
}

export interface AnswerSettings {
  maxQuestionChars: number;
  /** How many search hits become numbered sources. */
  sourceCount: number;
  maxAnswerTokens: number;
  /**
   * Most characters of a streamed answer (askStream): a model that ignores `maxAnswerTokens` and
   * streams on is cut there and the answer falls back to extractive, as `ask` bounds its reply.
   * Default: 8 characters per answer token (tokens average about 4).
   */
  maxStreamChars?: number;
  /**
   * Longest a streamed answer may take from the first request to the last delta, in ms: a model
   * that streams forever (each chunk in time) is cut there, and the answer falls back to
   * extractive. Default 30 s (the model's per-request timeout, LLM_TIMEOUT_MS, in the server).
   */
  streamTimeoutMs?: number;
}

export const DEFAULT_ANSWER_SETTINGS: AnswerSettings = { maxQuestionChars: 4000, sourceCount: 5, maxAnswerTokens: 600 };

/** Why a streamed answer was cut short by the service itself (not a ChatModelError). */
class StreamCut extends Error {
  constructor(readonly reason: 'too_long' | 'too_slow', message: string) {
    super(message);
  }
}

/** Where the cause of a fallback goes (the server's logger); the answer carries only a warning. */
export type AnswerLog = (event: { cause: unknown; streaming: boolean }, message: string) => void;

export const WITHHELD_TEXT = 'The answer was withheld by the moderation policy.';

export const NOT_FOUND_TEXT = "I don't know: nothing in the knowledge base matches this closely enough to answer it.";

function describeFailure(error: unknown): string {
  if (error instanceof StreamCut) {
    return error.reason === 'too_long' ? 'the language model’s streamed answer was longer than the limit' : 'the language model did not finish its streamed answer in time';
  }
  if (error instanceof ChatModelError) {
    const why: Record<ChatModelError['reason'], string> = {
      timeout: 'the language model did not answer in time',
      rate_limited: 'the language model is rate-limited',
      unavailable: 'the language model is unavailable',
      bad_response: 'the language model returned an unusable response',
      refused: 'the language model refused the request',
      auth: 'the language model rejected our credentials',
    };
    return why[error.reason];
  }
  return 'the language model call failed';
}

/** At most `max` characters of `text`, cut at a space when one is near the end (no half word). */
export function leadingWords(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const space = cut.search(/\s\S*$/);
  return (space > max * 0.9 ? cut.slice(0, space) : cut).trimEnd();
}

async function toDataUrl(image: Uint8Array): Promise<string> {
  const jpeg = await sharp(image, UPLOADED_IMAGE_INPUT).rotate().resize(1024, 1024, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

export class AnswerService {
  private readonly classifier: ZeroShotClassifier;

  constructor(
    private readonly search: SearchService,
    private readonly encoder: ClipEncoder,
    private readonly chat: ChatModel | null,
    private readonly settings: AnswerSettings = DEFAULT_ANSWER_SETTINGS,
    private readonly moderation: ModerationService | null = null,
    private readonly log: AnswerLog = () => undefined,
  ) {
    this.classifier = new ZeroShotClassifier(encoder);
  }

  async ask(input: AskInput): Promise<AnswerView> {
    let answer: AnswerView | null = null;
    for await (const event of this.run(input, false)) if (event.kind === 'answer') answer = event.answer;
    return answer!;
  }

  /** The answer text as the model writes it, then the checked Answer (authoritative) at the end. */
  askStream(input: AskInput): AsyncGenerator<AskEvent> {
    return this.run(input, true);
  }

  async caption(image: Uint8Array, signal?: AbortSignal): Promise<CaptionView> {
    const [vector] = await this.encoder.embedImages([image], { signal });
    const result = await this.search.search({ image, limit: 3, signal });
    const sources = result.noGoodMatch ? [] : toSources(result.hits, 1000);
    const titles = sources.flatMap((s) => (s.hit.document ? [s.hit.document.title] : s.hit.photo?.caption ? [s.hit.photo.caption] : []));
    const labels = [...new Set([...FIELD_EQUIPMENT_LABELS, ...titles])];
    const tags = (await this.classifier.classify(vector!, labels)).slice(0, 3).map(({ label, score }) => ({ label, score }));

    if (this.chat) {
      try {
        const completion = await this.chat.complete({
          messages: buildCaptionMessages(tags, sources, this.chat.supportsImages ? await toDataUrl(image) : null, result.readText),
          maxTokens: 120,
          temperature: 0.2,
          signal,
        });
        const checked = checkCitations(completion.text, sources.length);
        if (checked.text) return { text: checked.text, mode: 'LLM', tags, citations: this.citations(sources, checked.cited), readText: result.readText };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // Fall through to the template: a caption is always produced.
        this.log({ cause: error, streaming: false }, `language model caption failed (${describeFailure(error)}); captioning from tags`);
      }
    }
    const best = sources[0];
    const text = extractiveCaption(tags[0]?.label ?? null, best ? { label: best.label, text: best.text } : null, result.readText?.identifiers ?? []);
    return { text, mode: 'EXTRACTIVE', tags, citations: best ? this.citations(sources, [1]) : [], readText: result.readText };
  }

  private async *run(input: AskInput, streaming: boolean): AsyncGenerator<AskEvent> {
    // Normalised first, as search normalises its query (README, "Text is normalised once"): a
    // question of invisible characters is empty, and they do not count toward its length.
    const question = input.question ? normalizeText(input.question).trim() : '';
    const image = input.image ?? null;
    if (!question && !image) throw new InvalidInputError('EMPTY_QUERY', 'Ask a question, send a photo, or both.');
    if (question.length > this.settings.maxQuestionChars) {
      throw new InvalidInputError('TEXT_TOO_LONG', `The question has ${question.length} characters; the limit is ${this.settings.maxQuestionChars}.`, {
        details: { limit: this.settings.maxQuestionChars },
      });
    }
    if (question) this.moderation?.assertTextAllowed(question, 'question');
    const { signal } = input;
    // A question may be longer than a search query (4,000 vs 2,000 characters): the sources are
    // found with its beginning, and the whole question goes to the model and the extractive answer.
    const searchText = question ? leadingWords(question, this.search.maxQueryChars) : null;
    const result = await this.search.search({ text: searchText, image, filter: input.filter, limit: this.settings.sourceCount, signal });
    if (result.noGoodMatch || result.hits.length === 0) {
      yield { kind: 'answer', answer: { text: NOT_FOUND_TEXT, mode: 'EXTRACTIVE', citations: [], confidence: 0, warnings: ['No relevant source was found, so no answer was composed.'] } };
      return;
    }
    const sources = toSources(result.hits);
    const warnings: string[] = [];
    if (this.chat) {
      try {
        const messages = buildAnswerMessages(question, sources, image && this.chat.supportsImages ? await toDataUrl(image) : null, result.readText);
        let raw: string;
        let answerable = true;
        if (streaming) {
          raw = '';
          // Text goes out only once it screens clean; after a blocked term nothing more is sent.
          const guard = this.moderation?.streamGuard() ?? null;
          const maxChars = this.settings.maxStreamChars ?? this.settings.maxAnswerTokens * 8;
          const timeoutMs = this.settings.streamTimeoutMs ?? 30_000;
          // The stream's own bounds (length, total time) stop the model like the caller's signal does.
          const cut = new AbortController();
          const timer = setTimeout(() => cut.abort(new StreamCut('too_slow', `the streamed answer took longer than ${timeoutMs} ms`)), timeoutMs);
          timer.unref();
          try {
            const stream = this.chat.stream({ messages, maxTokens: this.settings.maxAnswerTokens, temperature: 0.1, signal: signal ? AbortSignal.any([signal, cut.signal]) : cut.signal });
            for await (const delta of stream) {
              if (raw.length + delta.length > maxChars) {
                cut.abort(new StreamCut('too_long', `the streamed answer passed ${maxChars} characters`));
                throw cut.signal.reason;
              }
              raw += delta;
              const safe = guard ? guard.push(delta) : delta;
              if (safe) yield { kind: 'delta', text: safe };
            }
          } finally {
            clearTimeout(timer);
          }
          const rest = guard?.finish().rest;
          if (rest) yield { kind: 'delta', text: rest };
        } else {
          const completion = await this.chat.complete({ messages, jsonSchema: ANSWER_SCHEMA, maxTokens: this.settings.maxAnswerTokens, temperature: 0.1, signal });
          const json = completion.json as { answer?: unknown; answerable?: unknown } | undefined;
          raw = typeof json?.answer === 'string' ? json.answer : completion.text;
          answerable = json?.answerable !== false;
        }
        const checked = checkCitations(raw, sources.length);
        if (!checked.text) throw new ChatModelError('bad_response', 'empty answer');
        if (answerable && checked.cited.length === 0) warnings.push('The model cited no sources for its answer; check it against the pages listed.');
        yield {
          kind: 'answer',
          answer: this.moderated({
            text: checked.text,
            mode: 'LLM',
            citations: this.citations(sources, checked.cited),
            confidence: this.confidence(result, answerable, checked.cited.length),
            warnings: [...checked.warnings, ...warnings],
          }),
        };
        return;
      } catch (error) {
        // The operation itself is over (deadline, client gone): no fallback answer is wanted.
        if (signal?.aborted) throw signal.reason;
        this.log({ cause: error, streaming }, `language model answer failed (${describeFailure(error)}); answering extractively`);
        warnings.push(`Answered from the sources directly because ${describeFailure(error)}.`);
      }
    } else {
      warnings.push('No language model is configured (OPENAI_BASE_URL / LLM_MODEL): the answer quotes the most relevant sentences.');
    }
    // The identifiers read on a photo say what it is about, as identifiers typed in the question do.
    const extractive = extractiveAnswer([question, ...(result.readText?.identifiers ?? [])].filter((part) => part.length > 0).join(' '), sources);
    yield {
      kind: 'answer',
      answer: this.moderated({
        text: extractive.text || NOT_FOUND_TEXT,
        mode: 'EXTRACTIVE',
        citations: this.citations(sources, extractive.cited),
        confidence: this.confidence(result, extractive.cited.length > 0, extractive.cited.length),
        warnings,
      }),
    };
  }

  /** An answer with a blocked term is withheld, saying why (the term is named, the text is not shown). */
  private moderated(answer: AnswerView): AnswerView {
    const screening = this.moderation?.screenText(answer.text);
    if (!screening || screening.decision !== 'block') return answer;
    return {
      ...answer,
      text: WITHHELD_TEXT,
      citations: [],
      confidence: 0,
      warnings: [...answer.warnings, `The answer was withheld by the moderation policy (blocked term${screening.matchedTerms.length > 1 ? 's' : ''} ${screening.matchedTerms.map((t) => `"${t}"`).join(', ')}).`],
    };
  }

  private citations(sources: readonly Source[], cited: readonly number[]): CitationView[] {
    return cited.map((n) => {
      const s = sources[n - 1]!;
      return { marker: n, document: s.hit.document, page: s.hit.page, photo: s.hit.photo, snippet: s.hit.snippet ?? s.text.slice(0, 240) };
    });
  }

  /**
   * Retrieval confidence, 0..1: how strongly the search evidence supports the sources the
   * answer cites (an exact identifier or a near-copy photo is strong; a dense match alone is
   * weaker), discounted when nothing is cited or the model said it could not answer.
   */
  private confidence(result: SearchResultView, answerable: boolean, citedCount: number): number {
    if (!answerable) return 0.1;
    const top = result.hits[0];
    const strong = top?.matchedBy.some((m) => m === 'IDENTIFIER' || m === 'KEYWORD') ?? false;
    const base = strong ? 0.85 : 0.6;
    return Math.round((citedCount > 0 ? base : base / 2) * 100) / 100;
  }
}
