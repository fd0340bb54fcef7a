/** The review queue for agents: unconfident identifications and flagged uploads; claim, then resolve with a label. */
import { useEffect, useState } from 'preact/hooks';
import { messageOf, request } from './api.js';
import { CLAIM_REVIEW, RESOLVE_REVIEW, REVIEW_QUEUE, type ReviewItem, type ReviewStatus } from './operations.js';
import { percent } from './text.js';
import { ErrorText, useViewer } from './ui.js';

interface Queue {
  totalCount: number;
  nodes: ReviewItem[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

const STATUS_NAMES: Record<ReviewStatus, string> = { OPEN: 'Open', CLAIMED: 'Claimed', RESOLVED: 'Resolved' };

export function ReviewView({ role }: { role: string }) {
  const [status, setStatus] = useState<ReviewStatus>('OPEN');
  const [queue, setQueue] = useState<Queue | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (after: string | null = null) => {
    setLoading(true);
    setError(null);
    try {
      const { reviewQueue } = await request<{ reviewQueue: Queue }>(REVIEW_QUEUE, { status, after });
      setQueue((q) => (after && q ? { ...reviewQueue, nodes: [...q.nodes, ...reviewQueue.nodes] } : reviewQueue));
    } catch (e) {
      setQueue(null);
      setError(messageOf(e));
    }
    setLoading(false);
  };
  useEffect(() => {
    void load();
  }, [status]);

  const replace = (item: ReviewItem) => setQueue((q) => (q ? { ...q, nodes: q.nodes.map((n) => (n.id === item.id ? item : n)) } : q));

  return (
    <section aria-labelledby="review-title" class="view">
      <h1 id="review-title">Review queue</h1>
      {role === 'technician' ? <p class="note">The review queue is for agents and admins; you are signed in as a technician.</p> : null}
      <div class="toolbar">
        <label for="review-status">Show</label>
        <select id="review-status" value={status} onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value as ReviewStatus)}>
          {(Object.keys(STATUS_NAMES) as ReviewStatus[]).map((s) => (
            <option key={s} value={s}>
              {STATUS_NAMES[s]}
            </option>
          ))}
        </select>
        <button type="button" class="secondary" onClick={() => load()} disabled={loading}>
          Refresh
        </button>
        {queue ? <span role="status">{queue.totalCount === 1 ? '1 item' : `${queue.totalCount} items`}</span> : null}
      </div>
      <ErrorText message={error} />
      {loading && !queue ? <p aria-busy="true">Loading…</p> : null}
      {queue && queue.nodes.length === 0 ? <p>Nothing to review here.</p> : null}
      <ul class="review-list">
        {queue?.nodes.map((item) => (
          <ReviewCard key={item.id} item={item} onChange={replace} />
        ))}
      </ul>
      {queue?.pageInfo.hasNextPage ? (
        <button type="button" class="secondary" onClick={() => load(queue.pageInfo.endCursor)} disabled={loading}>
          Show more
        </button>
      ) : null}
    </section>
  );
}

function ReviewCard({ item, onChange }: { item: ReviewItem; onChange: (item: ReviewItem) => void }) {
  const open = useViewer();
  const [label, setLabel] = useState(item.label ?? '');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const candidates = item.identification?.candidates ?? [];

  const act = async (run: () => Promise<ReviewItem>) => {
    setBusy(true);
    setError(null);
    try {
      onChange(await run());
    } catch (e) {
      setError(messageOf(e));
    }
    setBusy(false);
  };
  const claim = () => act(async () => (await request<{ claimReview: ReviewItem }>(CLAIM_REVIEW, { id: item.id })).claimReview);
  const resolve = (e: Event) => {
    e.preventDefault();
    void act(async () => (await request<{ resolveReview: ReviewItem }>(RESOLVE_REVIEW, { id: item.id, label: label.trim() || null, note: note.trim() || null })).resolveReview);
  };
  const headingId = `review-${item.id}`;
  return (
    <li class="panel review-item" aria-labelledby={headingId}>
      <h2 id={headingId}>
        {item.kind === 'IDENTIFICATION' ? 'Unconfident identification' : 'Flagged upload'} · {STATUS_NAMES[item.status]}
      </h2>
      <p class="meta">
        {new Date(item.createdAt).toLocaleString()}
        {item.claimedBy ? ` · claimed by ${item.claimedBy}` : ''}
        {item.resolvedBy ? ` · resolved by ${item.resolvedBy}` : ''}
      </p>
      <p>{item.reason}</p>
      <div class="review-body">
        {item.photo?.url ? (
          <button type="button" class="hit-open" onClick={() => open({ document: null, page: null, photo: item.photo })} aria-label="Open the photo large">
            <img src={item.photo.url} alt={item.photo.caption ?? 'The photo under review'} />
          </button>
        ) : (
          <p class="no-photo">The API keeps no photo for this identification; judge by the candidates.</p>
        )}
        {candidates.length > 0 ? (
          <ol class="candidates" aria-label="Candidates">
            {candidates.map((c) => (
              <li key={c.label}>
                <button type="button" class="chip" disabled={item.status === 'RESOLVED'} onClick={() => setLabel(c.label)} aria-label={`Use the label ${c.label}`}>
                  {c.label}
                </button>{' '}
                <span class="score">{percent(c.score)}</span>
              </li>
            ))}
          </ol>
        ) : null}
      </div>
      {item.status === 'RESOLVED' ? (
        <p role="status">
          Resolved{item.label ? ` as "${item.label}"` : ''}
          {item.note ? ` (${item.note})` : ''}.
        </p>
      ) : (
        <>
          {item.status === 'OPEN' ? (
            <button type="button" onClick={claim} disabled={busy}>
              Claim
            </button>
          ) : null}
          <form class="resolve" onSubmit={resolve}>
            <label for={`label-${item.id}`}>Right label</label>
            <input id={`label-${item.id}`} value={label} onInput={(e) => setLabel((e.currentTarget as HTMLInputElement).value)} placeholder="part name" />
            <label for={`note-${item.id}`}>Note (optional)</label>
            <input id={`note-${item.id}`} value={note} onInput={(e) => setNote((e.currentTarget as HTMLInputElement).value)} />
            <button type="submit" disabled={busy}>
              Resolve
            </button>
          </form>
        </>
      )}
      <ErrorText message={error} />
    </li>
  );
}
