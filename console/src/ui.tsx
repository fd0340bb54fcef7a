/** Small shared pieces: error text, marked snippets, hit cards and the large page viewer. */
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { DocumentRef, PageRef, PhotoRef } from './operations.js';
import { highlight } from './text.js';

export function ErrorText({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function Marked({ text, terms }: { text: string | null; terms: readonly string[] }) {
  if (!text) return null;
  return <>{highlight(text, terms).map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}</>;
}

/** What the large viewer shows: a page of a document, or a photo. */
export interface Viewed {
  document: DocumentRef | null;
  page: PageRef | null;
  photo: PhotoRef | null;
  snippet?: string | null;
  terms?: readonly string[];
}

export const ViewerContext = createContext<(v: Viewed) => void>(() => undefined);

export function useViewer(): (v: Viewed) => void {
  return useContext(ViewerContext);
}

export function sourceTitle(v: Pick<Viewed, 'document' | 'page' | 'photo'>): string {
  if (v.document) return v.page ? `${v.document.title}, page ${v.page.number}` : v.document.title;
  if (v.photo) return v.photo.caption ? `Photo: ${v.photo.caption}` : 'Reference photo';
  return 'Source';
}

/** A matching page or photo as a thumbnail with its snippet; opens large on click or Enter. */
export function HitCard({ hit, terms, dim, extra }: { hit: Viewed & { snippet?: string | null }; terms: readonly string[]; dim?: boolean; extra?: ComponentChildren }) {
  const open = useViewer();
  const image = hit.page?.thumbnailUrl ?? hit.photo?.url ?? null;
  const title = sourceTitle(hit);
  return (
    <li class={dim ? 'hit dim' : 'hit'}>
      <button type="button" class="hit-open" onClick={() => open({ ...hit, terms })} aria-label={`Open ${title} large`}>
        {image ? <img src={image} alt="" loading="lazy" /> : <span class="no-image" aria-hidden="true">{hit.document?.kind ?? 'TEXT'}</span>}
      </button>
      <div class="hit-body">
        <strong>{title}</strong>
        {hit.snippet ? (
          <p class="snippet">
            <Marked text={hit.snippet} terms={terms} />
          </p>
        ) : null}
        {extra}
      </div>
    </li>
  );
}

/** The page (or photo) opened large, in a modal <dialog>: Escape and the Close button shut it. */
export function Viewer({ viewed, onClose }: { viewed: Viewed | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (viewed && !dialog.open) dialog.showModal();
    if (!viewed && dialog.open) dialog.close();
  }, [viewed]);
  const image = viewed ? (viewed.page?.thumbnailUrl ?? viewed.photo?.url ?? null) : null;
  const title = viewed ? sourceTitle(viewed) : '';
  return (
    <dialog ref={ref} class="viewer" aria-labelledby="viewer-title" onClose={onClose}>
      {viewed ? (
        <div class="viewer-body">
          <header>
            <h2 id="viewer-title">{title}</h2>
            <button type="button" class="secondary" onClick={onClose}>
              Close
            </button>
          </header>
          {image ? <img class="viewer-image" src={image} alt={title} /> : null}
          {viewed.page?.text ? (
            <p class="page-text">
              <Marked text={viewed.page.text} terms={viewed.terms ?? []} />
            </p>
          ) : viewed.snippet ? (
            <p class="page-text">
              <Marked text={viewed.snippet} terms={viewed.terms ?? []} />
            </p>
          ) : null}
          {viewed.document ? (
            <p>
              <a href={viewed.document.url} target="_blank" rel="noopener">
                Open the original document
              </a>
            </p>
          ) : null}
        </div>
      ) : null}
    </dialog>
  );
}

/** Seconds since `since` while `running`, for "still waiting" messages. */
export function useElapsed(running: boolean, tick: (s: number) => void): void {
  useEffect(() => {
    if (!running) return;
    const start = performance.now();
    tick(0);
    const timer = setInterval(() => tick(Math.floor((performance.now() - start) / 1000)), 1000);
    return () => clearInterval(timer);
  }, [running]);
}
