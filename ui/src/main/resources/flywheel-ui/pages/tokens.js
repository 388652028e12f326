// Tokens (admins only): create one (its secret is shown once), list, revoke.
import { html, render } from 'lit-html';
import { api } from '../api.js';
import { errorBox, loading } from '../components/feedback.js';
import { fmtAgo, fmtTime } from '../format.js';

export function mount(el, { me }) {
  let state = { items: null, error: null, created: null, formError: null };

  const update = (patch) => {
    state = { ...state, ...patch };
    render(view(), el);
  };

  const load = async () => {
    try {
      update({ items: (await api('/api/tokens?limit=500')).items, error: null });
    } catch (e) {
      update({ error: e });
    }
  };

  const create = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = { name: f.get('name').trim(), role: f.get('role') };
    if (f.get('deployment_id').trim()) body.deployment_id = f.get('deployment_id').trim();
    if (f.get('expires_in').trim()) body.expires_in = f.get('expires_in').trim();
    try {
      const created = await api('/api/tokens', { method: 'POST', json: body });
      update({ created, formError: null });
      e.target.reset();
      load();
    } catch (err) {
      update({ formError: err, created: null });
    }
  };

  const revoke = async (t) => {
    if (!confirm(`Revoke token "${t.name}"? It stops working at once.`)) return;
    try {
      await api(`/api/tokens/${t.id}`, { method: 'DELETE' });
      load();
    } catch (err) {
      update({ formError: err });
    }
  };

  const view = () => html`
    <div class="page-head"><h1>Tokens</h1></div>
    <form class="card create-token" @submit=${create}>
      <h2>New token</h2>
      <div class="row">
        <label>Name <input name="name" required maxlength="200" placeholder="alice"></label>
        <label>Role
          <select name="role">
            <option value="reviewer">reviewer</option><option value="viewer">viewer</option>
            <option value="engineer">engineer</option><option value="admin">admin</option>
            <option value="predict">predict (one deployment)</option>
          </select>
        </label>
        <label>Deployment (predict only) <input name="deployment_id" placeholder="dep_…"></label>
        <label>Expires in <input name="expires_in" placeholder="90d"></label>
        <button class="primary" type="submit">Create</button>
      </div>
      ${state.formError ? errorBox(state.formError) : ''}
      ${state.created ? html`
        <div class="notice secret" role="status">
          Token <strong>${state.created.token.name}</strong> created. Copy its secret now; it is not shown again:
          <code class="secret-value">${state.created.secret}</code>
        </div>` : ''}
    </form>
    ${state.error ? errorBox(state.error, load) : state.items === null ? loading('Loading tokens') : html`
      <table class="tokens">
        <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Status</th><th></th></tr></thead>
        <tbody>${state.items.filter((t) => t.role !== 'run').map((t) => html`
          <tr>
            <td>${t.name}${t.id === me.id ? html` <span class="muted">(you)</span>` : ''}</td>
            <td><span class="badge">${t.role}</span>${t.deployment_id ? html` <code>${t.deployment_id}</code>` : ''}</td>
            <td title=${fmtTime(t.created_at)}>${fmtAgo(t.created_at)}</td>
            <td>${t.expires_at ? fmtTime(t.expires_at) : 'never'}</td>
            <td>${t.revoked_at ? html`<span class="state state-failed">revoked</span>` : html`<span class="state state-started">active</span>`}</td>
            <td>${t.revoked_at ? '' : html`<button class="danger" @click=${() => revoke(t)}>Revoke</button>`}</td>
          </tr>`)}
        </tbody>
      </table>`}`;

  render(view(), el);
  load();
}
