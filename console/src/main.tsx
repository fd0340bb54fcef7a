/**
 * The Fieldscope console: sign in with an API key, see who you are and how the server is, then
 * ask (technicians), review (agents) and keep the knowledge base (admins).
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, messageOf, request, storedKey, storeKey } from './api.js';
import { AskView } from './ask.js';
import { LibraryView } from './library.js';
import { SESSION, type Session } from './operations.js';
import { ReviewView } from './review.js';
import { ErrorText, Viewer, ViewerContext, type Viewed } from './ui.js';
import './app.css';

type Tab = 'ask' | 'review' | 'library';
const TABS: { id: Tab; name: string; forRole: string }[] = [
  { id: 'ask', name: 'Ask', forRole: 'everyone' },
  { id: 'review', name: 'Review queue', forRole: 'agents' },
  { id: 'library', name: 'Knowledge base', forRole: 'admins' },
];

function tabFromHash(): Tab {
  const id = location.hash.slice(1);
  return TABS.some((t) => t.id === id) ? (id as Tab) : 'ask';
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>(tabFromHash());
  const [viewed, setViewed] = useState<Viewed | null>(null);

  const check = async () => {
    setChecking(true);
    try {
      setSession(await request<Session>(SESSION));
      setError(null);
    } catch (e) {
      setSession(null);
      // No key yet on a server that needs one: just ask for it.
      setError(e instanceof ApiError && e.code === 'UNAUTHENTICATED' && !storedKey() ? null : messageOf(e));
    }
    setChecking(false);
  };
  useEffect(() => {
    void check();
    const onHash = () => setTab(tabFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  if (checking && !session) return <p class="boot">Connecting to the server…</p>;
  if (!session) return <SignIn error={error} onSignIn={check} />;

  const { me, health } = session;
  const degraded = health.status !== 'ok';
  return (
    <ViewerContext.Provider value={setViewed}>
      <header class="top">
        <span class="brand">Fieldscope</span>
        <span class="who" data-testid="who">
          {me.keyName} · <strong>{me.role}</strong> · tenant {me.tenant}
        </span>
        <button
          type="button"
          class="secondary small"
          onClick={() => {
            storeKey('');
            setSession(null);
            setError(null);
          }}
        >
          {storedKey() ? 'Sign out' : 'Use a key'}
        </button>
      </header>
      {health.testModel ? (
        <p class="banner warn" role="status" data-testid="test-model-banner">
          Test model: this server runs the bundled random-weight model ({health.model.id}). Recognised parts, matches and answers are meaningless until a real model is installed.
        </p>
      ) : null}
      {degraded ? (
        <p class="banner error-banner" role="alert">
          The server is {health.status === 'shutting_down' ? 'shutting down' : 'degraded'}: {health.reasons.length > 0 ? health.reasons.join(' ') : health.store.ready ? 'an encoder is not ready.' : `the ${health.store.kind} store is not answering.`} Requests may fail.
        </p>
      ) : null}
      <nav aria-label="Sections" class="tabs">
        {TABS.map((t) => (
          <a key={t.id} href={`#${t.id}`} aria-current={tab === t.id ? 'page' : undefined}>
            {t.name}
          </a>
        ))}
      </nav>
      <main>
        {tab === 'ask' ? <AskView /> : null}
        {tab === 'review' ? <ReviewView role={me.role} /> : null}
        {tab === 'library' ? <LibraryView role={me.role} /> : null}
      </main>
      <Viewer viewed={viewed} onClose={() => setViewed(null)} />
    </ViewerContext.Provider>
  );
}

function SignIn({ error, onSignIn }: { error: string | null; onSignIn: () => void }) {
  const [key, setKey] = useState('');
  return (
    <main class="sign-in">
      <h1>Fieldscope</h1>
      <form
        class="panel"
        onSubmit={(e) => {
          e.preventDefault();
          storeKey(key.trim());
          onSignIn();
        }}
      >
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" value={key} onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)} required />
        <p class="meta">Kept in this browser tab only, until you close it or sign out.</p>
        <ErrorText message={error} />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

render(<App />, document.getElementById('app')!);
