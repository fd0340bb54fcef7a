/**
 * Ask with a photo and/or a question: what the photo shows (with confirm/correct and undo), the
 * matching pages, and the answer with its citations linked to the pages. Text questions stream
 * over askStream; a photo travels only over HTTP (the API's rule), so photo answers arrive whole.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, request, subscribe, upload } from './api.js';
import {
  ASK_STREAM,
  ASK_WITH_PHOTO,
  CONFIRM_PART,
  LOOK_AT_PHOTO,
  SEARCH_TEXT,
  UNDO_FEEDBACK,
  type Answer,
  type AskEvent,
  type Feedback,
  type Identification,
  type SearchResult,
} from './operations.js';
import { percent, queryTerms, splitCitations } from './text.js';
import { ErrorText, HitCard, sourceTitle, useElapsed, useViewer } from './ui.js';

interface AnswerState {
  partial: string;
  final: Answer | null;
  error: string | null;
  running: boolean;
}

const NO_ANSWER: AnswerState = { partial: '', final: null, error: null, running: false };

export function AskView() {
  const [photo, setPhoto] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [question, setQuestion] = useState('');
  const [asked, setAsked] = useState<{ question: string; photo: boolean } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [looking, setLooking] = useState(false);
  const [lookError, setLookError] = useState<string | null>(null);
  const [identification, setIdentification] = useState<Identification | null>(null);
  const [results, setResults] = useState<SearchResult | null>(null);
  const [answer, setAnswer] = useState<AnswerState>(NO_ANSWER);
  const cancelStream = useRef<(() => void) | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => () => cancelStream.current?.(), []);
  useEffect(() => {
    if (!photo) return setPreview(null);
    const url = URL.createObjectURL(photo);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [photo]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const q = question.trim();
    if (!photo && !q) return setFormError('Take or choose a photo, or type a question, first.');
    setFormError(null);
    cancelStream.current?.();
    setAsked({ question: q, photo: photo !== null });
    setIdentification(null);
    setResults(null);
    setLookError(null);
    setAnswer({ ...NO_ANSWER, running: true });
    setLooking(true);
    if (photo) {
      const look = upload<{ identifyPart: Identification; search: SearchResult }>(LOOK_AT_PHOTO, { text: q || null }, { image: photo }).then(
        ({ data }) => {
          setIdentification(data.identifyPart);
          setResults(data.search);
        },
        (error: unknown) => setLookError(messageOf(error)),
      );
      const ask = upload<{ ask: Answer }>(ASK_WITH_PHOTO, { question: q || null }, { image: photo }).then(
        ({ data }) => setAnswer({ partial: '', final: data.ask, error: null, running: false }),
        (error: unknown) => setAnswer({ ...NO_ANSWER, error: messageOf(error) }),
      );
      await look;
      setLooking(false);
      await ask;
      return;
    }
    const search = request<{ search: SearchResult }>(SEARCH_TEXT, { text: q }).then(
      (data) => setResults(data.search),
      (error: unknown) => setLookError(messageOf(error)),
    );
    const stream = subscribe<{ askStream: AskEvent }>(
      ASK_STREAM,
      { question: q },
      ({ askStream: event }) => {
        if (event.__typename === 'AnswerDelta') setAnswer((a) => ({ ...a, partial: a.partial + event.text }));
        else setAnswer((a) => ({ ...a, final: event, running: false }));
      },
      (cancel) => (cancelStream.current = cancel),
    ).then(
      () => setAnswer((a) => ({ ...a, running: false })),
      (error: unknown) => setAnswer((a) => ({ ...a, error: messageOf(error), running: false })),
    );
    await search;
    setLooking(false);
    await stream;
  };

  const terms = queryTerms(asked?.question, identification?.candidates[0]?.label);

  return (
    <section aria-labelledby="ask-title" class="view">
      <h1 id="ask-title">Ask</h1>
      <form class="ask-form" onSubmit={submit}>
        <div class="photo-pick">
          <label class="button secondary" for="photo-input">
            {photo ? 'Change photo' : 'Take or choose a photo'}
          </label>
          <input
            id="photo-input"
            ref={fileInput}
            class="visually-hidden"
            type="file"
            accept="image/*"
            capture="environment"
            onChange={(e) => setPhoto((e.currentTarget as HTMLInputElement).files?.[0] ?? null)}
          />
          {preview ? (
            <span class="preview">
              <img src={preview} alt="The photo to ask about" />
              <button
                type="button"
                class="link"
                onClick={() => {
                  setPhoto(null);
                  if (fileInput.current) fileInput.current.value = '';
                }}
              >
                Remove photo
              </button>
            </span>
          ) : (
            <small>Optional. On a phone this opens the camera.</small>
          )}
        </div>
        <label for="question">Question (optional with a photo)</label>
        <textarea id="question" rows={2} value={question} placeholder="e.g. How do I replace the shaft seal?" onInput={(e) => setQuestion((e.currentTarget as HTMLTextAreaElement).value)} />
        <ErrorText message={formError} />
        <button type="submit" disabled={looking || answer.running}>
          {looking || answer.running ? 'Asking…' : 'Ask'}
        </button>
      </form>

      {asked ? (
        <div class="ask-results">
          <div>
            {asked.photo ? <Recognised identification={identification} looking={looking} /> : null}
            <AnswerPanel answer={answer} streaming={!asked.photo} terms={terms} />
          </div>
          <Pages results={results} looking={looking} error={lookError} terms={terms} />
        </div>
      ) : null}
    </section>
  );
}

function Recognised({ identification, looking }: { identification: Identification | null; looking: boolean }) {
  if (!identification) {
    return looking ? (
      <div class="panel" aria-busy="true">
        <h2>What is in the photo</h2>
        <p>Looking at the photo…</p>
      </div>
    ) : null;
  }
  const top = identification.candidates[0];
  return (
    <div class={identification.confident ? 'panel' : 'panel caution'} data-testid="recognised">
      <h2>What is in the photo</h2>
      {top ? (
        identification.confident ? (
          <p class="recognised">
            Recognised: <strong>{top.label}</strong> <span class="score">({percent(top.score)} confidence)</span>
          </p>
        ) : (
          <p class="recognised">
            <strong>Not confident.</strong> Best guess: {top.label} <span class="score">({percent(top.score)})</span>.
            {identification.reviewItem ? ' This photo was added to the review queue for an agent.' : ''}
          </p>
        )
      ) : (
        <p>No part labels to compare with.</p>
      )}
      <ConfirmPart identification={identification} />
    </div>
  );
}

function ConfirmPart({ identification }: { identification: Identification }) {
  const [feedback, setFeedback] = useState<Feedback | null>(null);
  const [other, setOther] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const top = identification.candidates[0];

  const confirm = async (label: string) => {
    setBusy(true);
    setError(null);
    try {
      setFeedback((await request<{ confirmPart: Feedback }>(CONFIRM_PART, { identificationId: identification.id, label })).confirmPart);
    } catch (e) {
      setError(messageOf(e));
    }
    setBusy(false);
  };
  const undo = async () => {
    if (!feedback) return;
    setBusy(true);
    setError(null);
    try {
      setFeedback((await request<{ undoFeedback: Feedback }>(UNDO_FEEDBACK, { id: feedback.id })).undoFeedback);
    } catch (e) {
      setError(messageOf(e));
    }
    setBusy(false);
  };

  if (feedback && !feedback.undoneAt) {
    return (
      <div class="confirm" role="status">
        <p>
          Recorded: this is <strong>{feedback.label}</strong>. Later photos like it will lean towards this label.
        </p>
        <button type="button" class="secondary" disabled={busy} onClick={undo}>
          Undo
        </button>
        <ErrorText message={error} />
      </div>
    );
  }
  return (
    <div class="confirm">
      {feedback?.undoneAt ? <p role="status">Withdrawn: the label "{feedback.label}" no longer counts.</p> : null}
      {top ? (
        <button type="button" disabled={busy} onClick={() => confirm(top.label)}>
          Yes, this is {top.label}
        </button>
      ) : null}
      {identification.candidates.length > 1 ? (
        <div class="chips" role="group" aria-label="Pick the right part">
          {identification.candidates.slice(1).map((c) => (
            <button type="button" class="chip" key={c.label} disabled={busy} onClick={() => confirm(c.label)}>
              It is {c.label} <span class="score">({percent(c.score)})</span>
            </button>
          ))}
        </div>
      ) : null}
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (other.trim()) void confirm(other.trim());
        }}
      >
        <label for={`other-${identification.id}`}>Something else</label>
        <input id={`other-${identification.id}`} value={other} placeholder="the right part name" onInput={(e) => setOther((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit" class="secondary" disabled={busy || !other.trim()}>
          Correct
        </button>
      </form>
      <ErrorText message={error} />
    </div>
  );
}

function AnswerPanel({ answer, streaming, terms }: { answer: AnswerState; streaming: boolean; terms: readonly string[] }) {
  const open = useViewer();
  const [elapsed, setElapsed] = useState(0);
  useElapsed(answer.running, setElapsed);
  const final = answer.final;
  const cite = (marker: number) => final?.citations.find((c) => c.marker === marker);
  const noAnswer = final !== null && final.citations.length === 0;
  return (
    // Polite and busy while streaming: screen readers read the answer once, when it is complete.
    <div class={noAnswer ? 'panel caution' : 'panel'} aria-live="polite" aria-busy={answer.running} data-testid="answer">
      <h2>Answer</h2>
      <ErrorText message={answer.error} />
      {answer.running && !answer.partial ? (
        <p class="waiting">
          {streaming ? 'Writing the answer…' : 'Reading the photo and the manuals…'}
          {elapsed >= 3 ? ` still working (${elapsed} s).` : ''}
        </p>
      ) : null}
      {!final && answer.partial ? (
        <p class="answer-text streaming">
          {answer.partial}
          <span class="cursor" aria-hidden="true">▍</span>
        </p>
      ) : null}
      {final ? (
        <>
          {noAnswer ? <p class="verdict">The manuals do not answer this.</p> : null}
          <p class="answer-text">
            {splitCitations(final.text).map((part, i) => {
              if (part.kind === 'text') return <span key={i}>{part.text}</span>;
              const c = cite(part.marker);
              return c ? (
                <button type="button" key={i} class="cite" onClick={() => open({ ...c, terms })} aria-label={`Source ${part.marker}: ${sourceTitle(c)}`}>
                  [{part.marker}]
                </button>
              ) : (
                <span key={i}>[{part.marker}]</span>
              );
            })}
          </p>
          <p class="meta">
            {final.mode === 'EXTRACTIVE' ? 'Quoted from the manuals (no language model wrote this). ' : 'Written by the language model from the sources. '}
            {final.confidence !== null ? `Evidence: ${percent(final.confidence)}.` : ''}
          </p>
          {final.warnings.length > 0 ? (
            <ul class="warnings" aria-label="Warnings">
              {final.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          ) : null}
          {final.citations.length > 0 ? (
            <ol class="sources" aria-label="Sources">
              {final.citations.map((c) => (
                <li key={c.marker} value={c.marker}>
                  <button type="button" class="link" onClick={() => open({ ...c, terms })}>
                    {sourceTitle(c)}
                  </button>
                </li>
              ))}
            </ol>
          ) : null}
        </>
      ) : null}
    </div>
  );
}

function Pages({ results, looking, error, terms }: { results: SearchResult | null; looking: boolean; error: string | null; terms: readonly string[] }) {
  return (
    <div class={results?.noGoodMatch ? 'panel caution' : 'panel'} data-testid="pages">
      <h2>Matching pages</h2>
      <ErrorText message={error} />
      {looking && !results ? <p aria-busy="true">Searching the knowledge base…</p> : null}
      {results?.noGoodMatch ? <p class="verdict">No good match in the knowledge base. The closest pages are below, but none is convincing.</p> : null}
      {results && results.hits.length === 0 ? <p>Nothing found.</p> : null}
      {results && results.hits.length > 0 ? (
        <ul class="hits">
          {results.hits.map((h, i) => (
            <HitCard key={i} hit={h} terms={terms} dim={results.noGoodMatch} />
          ))}
        </ul>
      ) : null}
    </div>
  );
}
