/**
 * The knowledge base for admins: upload several documents and photos at once (progress and a
 * result per file), list, search, open and delete documents. Other roles may look; the server
 * refuses their changes and the refusal is shown as it says.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, request, upload } from './api.js';
import {
  DELETE_DOCUMENT,
  DOCUMENT,
  DOCUMENTS,
  INGEST_DOCUMENT,
  INGEST_PHOTO,
  SEARCH_TEXT,
  type DocumentDetail,
  type DocumentSummary,
  type IngestedDocument,
  type SearchResult,
} from './operations.js';
import { fileSize, queryTerms } from './text.js';
import { ErrorText, HitCard } from './ui.js';

interface Listing {
  totalCount: number;
  nodes: DocumentSummary[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

interface FileRow {
  name: string;
  size: number;
  progress: number;
  state: 'waiting' | 'sending' | 'added' | 'duplicate' | 'refused';
  detail: string;
}

const IMAGE = /^image\//;

export function LibraryView({ role }: { role: string }) {
  const [listing, setListing] = useState<Listing | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [opened, setOpened] = useState<DocumentDetail | null>(null);
  const [openError, setOpenError] = useState<string | null>(null);

  const load = async (after: string | null = null) => {
    setListError(null);
    try {
      const { documents } = await request<{ documents: Listing }>(DOCUMENTS, { after });
      setListing((l) => (after && l ? { ...documents, nodes: [...l.nodes, ...documents.nodes] } : documents));
    } catch (e) {
      setListError(messageOf(e));
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const openDocument = async (id: string) => {
    setOpenError(null);
    try {
      const { document } = await request<{ document: DocumentDetail | null }>(DOCUMENT, { id });
      if (!document) return setOpenError('That document is no longer in the knowledge base.');
      setOpened(document);
    } catch (e) {
      setOpenError(messageOf(e));
    }
  };

  return (
    <section aria-labelledby="library-title" class="view">
      <h1 id="library-title">Knowledge base</h1>
      {role !== 'admin' ? <p class="note">Adding and deleting needs an admin key; you are signed in as {role === 'agent' ? 'an agent' : 'a technician'}.</p> : null}
      <Uploads onDone={() => load()} />
      <Search />
      <div class="panel">
        <h2>Documents {listing ? <span class="count">({listing.totalCount})</span> : null}</h2>
        <ErrorText message={listError} />
        <ErrorText message={openError} />
        {listing && listing.nodes.length === 0 ? <p>No documents yet.</p> : null}
        <ul class="documents">
          {listing?.nodes.map((d) => (
            <DocumentRow
              key={d.id}
              doc={d}
              onOpen={() => openDocument(d.id)}
              onDeleted={() => {
                setListing((l) => (l ? { ...l, totalCount: l.totalCount - 1, nodes: l.nodes.filter((n) => n.id !== d.id) } : l));
                if (opened?.id === d.id) setOpened(null);
              }}
            />
          ))}
        </ul>
        {listing?.pageInfo.hasNextPage ? (
          <button type="button" class="secondary" onClick={() => load(listing.pageInfo.endCursor)}>
            Show more
          </button>
        ) : null}
      </div>
      {opened ? <DocumentPanel doc={opened} onClose={() => setOpened(null)} /> : null}
    </section>
  );
}

function Uploads({ onDone }: { onDone: () => void }) {
  const [files, setFiles] = useState<File[]>([]);
  const [imagesAs, setImagesAs] = useState<'photo' | 'document'>('photo');
  const [rows, setRows] = useState<FileRow[]>([]);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  const update = (i: number, change: Partial<FileRow>) => setRows((r) => r.map((row, j) => (j === i ? { ...row, ...change } : row)));

  const send = async (e: Event) => {
    e.preventDefault();
    if (files.length === 0) return;
    setBusy(true);
    setRows(files.map((f) => ({ name: f.name, size: f.size, progress: 0, state: 'waiting', detail: '' })));
    let changed = false;
    // One at a time: the server embeds each file with the same two cores that answer questions.
    for (const [i, file] of files.entries()) {
      update(i, { state: 'sending' });
      const asPhoto = IMAGE.test(file.type) && imagesAs === 'photo';
      try {
        const onProgress = (p: number) => update(i, { progress: p });
        if (asPhoto) {
          const r = await upload<{ ingestPhoto: { id: string; wasDuplicate: boolean; duplicateOf: { id: string } | null } }>(INGEST_PHOTO, {}, { file }, onProgress);
          update(i, {
            progress: 1,
            state: r.data.ingestPhoto.wasDuplicate ? 'duplicate' : 'added',
            detail: r.data.ingestPhoto.wasDuplicate ? 'Already in the knowledge base; nothing added.' : r.data.ingestPhoto.duplicateOf ? 'As a reference photo; it looks like a copy of an earlier photo.' : 'As a reference photo.',
          });
        } else {
          const r = await upload<{ ingestDocument: IngestedDocument }>(INGEST_DOCUMENT, {}, { file }, onProgress);
          const doc = r.data.ingestDocument;
          update(i, {
            progress: 1,
            state: doc.wasDuplicate ? 'duplicate' : 'added',
            detail: doc.wasDuplicate ? `Already in the knowledge base as "${doc.title}"; nothing added.` : `"${doc.title}" (${doc.pageCount} ${doc.pageCount === 1 ? 'page' : 'pages'}).`,
          });
        }
        changed = true;
      } catch (error) {
        update(i, { state: 'refused', detail: messageOf(error) });
      }
    }
    setBusy(false);
    setFiles([]);
    if (input.current) input.current.value = '';
    if (changed) onDone();
  };

  const done = rows.filter((r) => r.state !== 'waiting' && r.state !== 'sending').length;
  return (
    <form class="panel" onSubmit={send} aria-labelledby="upload-title">
      <h2 id="upload-title">Add documents and photos</h2>
      <label for="upload-files">Files (PDF, Markdown, HTML, text, images; several at once)</label>
      <input
        id="upload-files"
        ref={input}
        type="file"
        multiple
        accept=".pdf,.md,.markdown,.html,.htm,.txt,image/*,application/pdf,text/*"
        onChange={(e) => setFiles([...((e.currentTarget as HTMLInputElement).files ?? [])])}
      />
      <fieldset class="inline">
        <legend>Images are</legend>
        <label>
          <input type="radio" name="images-as" checked={imagesAs === 'photo'} onChange={() => setImagesAs('photo')} /> reference photos
        </label>
        <label>
          <input type="radio" name="images-as" checked={imagesAs === 'document'} onChange={() => setImagesAs('document')} /> scanned pages (documents)
        </label>
      </fieldset>
      <button type="submit" disabled={busy || files.length === 0}>
        {busy ? 'Uploading…' : files.length > 1 ? `Upload ${files.length} files` : 'Upload'}
      </button>
      {rows.length > 0 ? (
        <>
          <p role="status" class="meta">
            {busy ? `Uploading: ${done} of ${rows.length} done.` : `Finished: ${rows.filter((r) => r.state === 'added').length} added, ${rows.filter((r) => r.state === 'duplicate').length} duplicate, ${rows.filter((r) => r.state === 'refused').length} refused.`}
          </p>
          <ul class="upload-rows">
            {rows.map((r, i) => (
              <li key={i} class={`upload-row ${r.state}`} data-testid="upload-row">
                <span class="file-name">
                  {r.name} <small>{fileSize(r.size)}</small>
                </span>
                {r.state === 'sending' || r.state === 'waiting' ? (
                  <progress max={1} value={r.progress} aria-label={`Progress of ${r.name}`} />
                ) : (
                  <span class="outcome">
                    <strong>{r.state === 'added' ? 'Added' : r.state === 'duplicate' ? 'Duplicate' : 'Refused'}</strong> {r.detail}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </form>
  );
}

function Search() {
  const [text, setText] = useState('');
  const [searched, setSearched] = useState('');
  const [results, setResults] = useState<SearchResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (e: Event) => {
    e.preventDefault();
    const q = text.trim();
    if (!q) return;
    setError(null);
    try {
      setResults((await request<{ search: SearchResult }>(SEARCH_TEXT, { text: q })).search);
      setSearched(q);
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const terms = queryTerms(searched);
  return (
    <div class="panel">
      <form class="inline" role="search" onSubmit={run}>
        <label for="library-search">Search the knowledge base</label>
        <input id="library-search" type="search" value={text} onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">Search</button>
      </form>
      <ErrorText message={error} />
      {results ? (
        <>
          {results.noGoodMatch ? <p class="verdict">No good match; the closest results are shown.</p> : null}
          {results.hits.length === 0 ? <p>Nothing found.</p> : null}
          <ul class="hits">
            {results.hits.map((h, i) => (
              <HitCard key={i} hit={h} terms={terms} dim={results.noGoodMatch} />
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

function DocumentRow({ doc, onOpen, onDeleted }: { doc: DocumentSummary; onOpen: () => void; onDeleted: () => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      const { deleteDocument } = await request<{ deleteDocument: boolean }>(DELETE_DOCUMENT, { id: doc.id });
      if (deleteDocument) return onDeleted();
      setError('That document was already gone.');
      onDeleted();
    } catch (e) {
      setError(messageOf(e));
      setAsking(false);
    }
    setBusy(false);
  };
  return (
    <li class="document-row">
      <div>
        <strong>{doc.title}</strong>
        <span class="meta">
          {' '}
          {doc.kind} · {doc.pageCount} {doc.pageCount === 1 ? 'page' : 'pages'} · added {new Date(doc.createdAt).toLocaleDateString()}
        </span>
      </div>
      <div class="row-actions">
        <button type="button" class="secondary" onClick={onOpen} aria-label={`Open ${doc.title}`}>
          Open
        </button>
        {asking ? (
          <span role="group" aria-label={`Confirm deleting ${doc.title}`}>
            <span>Delete for good?</span>{' '}
            <button type="button" class="danger" disabled={busy} onClick={remove}>
              Yes, delete
            </button>{' '}
            <button type="button" class="secondary" onClick={() => setAsking(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" class="secondary" onClick={() => setAsking(true)} aria-label={`Delete ${doc.title}`}>
            Delete
          </button>
        )}
      </div>
      <ErrorText message={error} />
    </li>
  );
}

function DocumentPanel({ doc, onClose }: { doc: DocumentDetail; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [doc.id]);
  const metadata = Object.entries(doc.metadata);
  return (
    <div class="panel" aria-labelledby="document-title">
      <header class="panel-header">
        <h2 id="document-title" ref={heading} tabIndex={-1}>
          {doc.title}
        </h2>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </header>
      <p class="meta">
        {doc.kind} · {doc.mimeType} · {doc.pageCount} {doc.pageCount === 1 ? 'page' : 'pages'} ·{' '}
        <a href={doc.url} target="_blank" rel="noopener">
          original file
        </a>
      </p>
      {metadata.length > 0 ? (
        <dl class="metadata">
          {metadata.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      <ul class="hits">
        {doc.pages.map((p) => (
          <HitCard key={p.number} hit={{ document: doc, page: p, photo: null, snippet: p.text ? p.text.slice(0, 160) : null }} terms={[]} />
        ))}
      </ul>
    </div>
  );
}
