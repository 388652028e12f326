// The audit trail: every step of the loop with who did it and the numbers behind it, filterable and paged.
import { html, render } from 'lit-html';
import { api } from '../api.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { fmtAgo, fmtTime } from '../format.js';

export function mount(el) {
  let state = { filter: { type: '', severity: '', deployment_id: '' }, items: null, cursor: null, error: null, open: null };

  const update = (patch) => {
    state = { ...state, ...patch };
    render(view(), el);
  };

  const query = (cursor) => {
    const q = new URLSearchParams({ limit: '50' });
    for (const [k, v] of Object.entries(state.filter)) if (v) q.set(k, v);
    if (cursor) q.set('cursor', cursor);
    return `/api/events?${q}`;
  };

  const load = async (more = false) => {
    try {
      const page = await api(query(more ? state.cursor : null));
      update({ items: more ? [...state.items, ...page.items] : page.items, cursor: page.next_cursor, error: null });
    } catch (e) {
      update({ error: e });
    }
  };

  const applyFilter = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    update({ filter: { type: f.get('type').trim(), severity: f.get('severity'), deployment_id: f.get('deployment_id').trim() }, items: null });
    load();
  };

  const row = (ev) => html`
    <tr class="row-${ev.severity}" @click=${() => update({ open: state.open === ev.id ? null : ev.id })}>
      <td title=${fmtTime(ev.occurred_at)}>${fmtAgo(ev.occurred_at)}</td>
      <td><span class="sev sev-${ev.severity}">${ev.severity}</span></td>
      <td><code>${ev.type}</code></td>
      <td>${ev.message}</td>
      <td class="muted">${ev.actor}</td>
    </tr>
    ${state.open === ev.id ? html`
      <tr class="detail"><td colspan="5"><pre>${JSON.stringify(ev.data, null, 2)}</pre>
        ${ev.subject_id ? html`<p class="muted">${ev.subject_type} ${ev.subject_id}</p>` : ''}</td></tr>` : ''}`;

  const view = () => html`
    <div class="page-head"><h1>Events</h1></div>
    <form class="filters" @submit=${applyFilter} aria-label="Filter events">
      <label>Type starts with <input name="type" .value=${state.filter.type} placeholder="plugin."></label>
      <label>Severity
        <select name="severity" .value=${state.filter.severity}>
          <option value="">any</option><option value="info">info</option>
          <option value="warning">warning</option><option value="error">error</option>
        </select>
      </label>
      <label>Deployment <input name="deployment_id" .value=${state.filter.deployment_id} placeholder="dep_…"></label>
      <button type="submit">Filter</button>
    </form>
    ${state.error ? errorBox(state.error, () => load())
      : state.items === null ? loading('Loading events')
      : state.items.length === 0 ? empty('No events match.')
      : html`
        <table class="events">
          <thead><tr><th scope="col">When</th><th scope="col">Severity</th><th scope="col">Type</th><th scope="col">What</th><th scope="col">Who</th></tr></thead>
          <tbody>${state.items.map(row)}</tbody>
        </table>
        ${state.cursor ? html`<button @click=${() => load(true)}>Older events</button>` : ''}`}`;

  render(view(), el);
  load();
}
