// The shell: sign-in, navigation by hash (#/plugins), and the page being shown.
import { html, render } from 'lit-html';
import { api, setToken, token } from './api.js';
import { errorBox, loading } from './components/feedback.js';
import * as deployments from './pages/deployments.js';
import * as deployment from './pages/deployment.js';
import * as review from './pages/review.js';
import * as runs from './pages/runs.js';
import * as models from './pages/models.js';
import * as datasets from './pages/datasets.js';
import * as plugins from './pages/plugins.js';
import * as events from './pages/events.js';
import * as tokens from './pages/tokens.js';

const ALL = ['admin', 'engineer', 'reviewer', 'viewer'];

// Each page says which roles see it; pages a role may not use are not offered at all. A page with a `detail`
// module shows it for #/path/id…; the rest of the path comes to it as ctx.params. A `hidden` page is left out of
// the menu, which shows the page it is `under` as the current one.
const PAGES = [
  { path: 'deployments', title: 'Deployments', module: deployments, detail: deployment, roles: ALL },
  { path: 'review', title: 'Review', module: review, roles: ALL },
  // Runs are reached from their deployment (#/deployments/{d}/runs) or directly (#/runs/{r}); not in the menu.
  { path: 'runs', title: 'Training runs', module: runs, detail: runs, roles: ALL, hidden: true, under: 'deployments' },
  { path: 'models', title: 'Models', module: models, roles: ALL },
  { path: 'datasets', title: 'Datasets', module: datasets, roles: ALL },
  { path: 'plugins', title: 'Plugins', module: plugins, roles: ['admin', 'engineer', 'reviewer', 'viewer'] },
  { path: 'events', title: 'Events', module: events, roles: ['admin', 'engineer', 'reviewer', 'viewer'] },
  { path: 'tokens', title: 'Tokens', module: tokens, roles: ['admin'] },
];

const root = document.getElementById('app');
// lit-html renders next to existing children, so the static "Loading…" placeholder goes first.
root.replaceChildren();
let me = null;
let cleanup = null;

// Reviewers start where they work; everyone else at the deployments.
const HOME = { reviewer: 'review' };

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const [first, ...params] = path.split('/').filter(Boolean).map(decodeURIComponent);
  const allowed = PAGES.filter((p) => p.roles.includes(me.role));
  const page = allowed.find((p) => p.path === (first || HOME[me.role])) || allowed.filter((p) => !p.hidden)[0];
  return { page, params: page.path === first ? params : [], query: new URLSearchParams(query || '') };
}

function signIn(error) {
  if (cleanup) cleanup();
  cleanup = null;
  me = null;
  const submit = async (e) => {
    e.preventDefault();
    const value = new FormData(e.target).get('token').trim();
    if (!value) return;
    setToken(value);
    await start();
  };
  render(html`
    <main class="signin">
      <h1>Flywheel</h1>
      <p>Models that improve themselves. Sign in with an API token.</p>
      ${error ? errorBox(error) : ''}
      <form @submit=${submit}>
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required
               placeholder="fw_…" autofocus>
        <button type="submit" class="primary">Sign in</button>
      </form>
      <p class="hint">An admin creates tokens under Tokens, or with <code>POST /api/tokens</code>.</p>
    </main>`, root);
}

function signOut() {
  setToken(null);
  location.hash = '';
  signIn();
}

function shell(page) {
  return html`
    <header class="top">
      <a class="brand" href="#/">Flywheel</a>
      <nav aria-label="Main">
        ${PAGES.filter((p) => p.roles.includes(me.role) && !p.hidden).map((p) => {
          const current = p === page || p.path === page.under;
          return html`
          <a href="#/${p.path}" class=${current ? 'active' : ''}
             aria-current=${current ? 'page' : 'false'}>${p.title}</a>`;
        })}
      </nav>
      <div class="who">
        <span title=${me.id}>${me.name}</span> <span class="badge">${me.role}</span>
        <button class="link" @click=${signOut}>Sign out</button>
      </div>
    </header>
    <main id="page" tabindex="-1"></main>`;
}

function show() {
  if (!me) return;
  if (cleanup) cleanup();
  const { page, params, query } = route();
  document.title = `${page.title} · Flywheel`;
  render(shell(page), root);
  const el = document.getElementById('page');
  const module = params.length && page.detail ? page.detail : page.module;
  cleanup = module.mount(el, { me, params, query, navigate: (hash) => { location.hash = hash; } }) || null;
}

async function start() {
  if (!token()) {
    signIn();
    return;
  }
  render(loading('Signing in'), root);
  try {
    me = await api('/api/me');
  } catch (e) {
    if (e.status === 401) setToken(null);
    signIn(e);
    return;
  }
  show();
}

window.addEventListener('hashchange', show);
window.addEventListener('flywheel:unauthorized', () => {
  setToken(null);
  signIn({ status: 401, message: 'Your token is no longer valid. Sign in again.' });
});
start();
