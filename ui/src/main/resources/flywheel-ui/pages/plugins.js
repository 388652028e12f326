// The plugin manager: installed plugins, their extensions by extension point with the settings each
// accepts (rendered from its config schema), and, for admins, upload / enable / disable / delete.
import { html, render } from 'lit-html';
import { api } from '../api.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { readSchemaValues, schemaFields } from '../components/schema-form.js';
import { fmtValue } from '../format.js';

const POINTS = {
  model_runtime: 'Model runtime',
  retraining_trigger: 'Retraining trigger',
  promotion_policy: 'Promotion policy',
  gpu_provisioner: 'GPU provisioner',
};

export function mount(el, { me }) {
  const admin = me.role === 'admin';
  let state = { plugins: null, error: null, notice: null, busy: false, tried: {} };

  const update = (patch) => {
    state = { ...state, ...patch };
    render(view(), el);
  };

  const load = async () => {
    try {
      update({ plugins: (await api('/api/plugins')).items, error: null });
    } catch (e) {
      update({ error: e });
    }
  };

  const act = async (label, call) => {
    update({ busy: true, notice: null });
    try {
      await call();
      update({ notice: { ok: true, text: label } });
    } catch (e) {
      update({ notice: { ok: false, text: e.message } });
    }
    update({ busy: false });
    await load();
  };

  const upload = async (e) => {
    e.preventDefault();
    const form = e.target;
    const file = form.file.files[0];
    if (!file) return;
    const data = new FormData();
    data.append('file', file);
    await act(`Installed ${file.name}`, () => api('/api/plugins', { method: 'POST', body: data }));
    form.reset();
  };

  const remove = (p) => {
    if (confirm(`Delete plugin ${p.id}? Its jar is removed from the plugins directory.`)) {
      act(`Deleted ${p.id}`, () => api(`/api/plugins/${encodeURIComponent(p.id)}`, { method: 'DELETE' }));
    }
  };

  const settings = (schema) => schema.length === 0 ? html`<p class="muted">No settings.</p>` : html`
    <table class="settings">
      <thead><tr><th scope="col">Setting</th><th scope="col">Kind</th><th scope="col">Default</th><th scope="col">Description</th></tr></thead>
      <tbody>${schema.map((s) => html`
        <tr>
          <td><code>${s.name}</code>${s.required ? html` <span class="req" title="required">*</span>` : ''}</td>
          <td>${s.kind}${s.allowed_values.length ? html`: ${s.allowed_values.join(', ')}` : ''}
              ${s.minimum !== null ? html` ≥ ${s.minimum}` : ''}${s.maximum !== null ? html` ≤ ${s.maximum}` : ''}</td>
          <td>${fmtValue(s.default_value)}</td>
          <td>${s.description}</td>
        </tr>`)}
      </tbody>
    </table>`;

  // "Try the form": the form the deployment page renders from this schema, and the settings it would send.
  // Nothing is saved; it shows plugin authors (and users) what their config schema turns into.
  const tryIt = (p, point, x) => {
    const key = `${p.id}/${point}/${x.type}`;
    const prefix = `try-${key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
    const submit = (e) => {
      e.preventDefault();
      let out;
      try {
        out = { ok: true, text: JSON.stringify(readSchemaValues(e.target, x.config_schema), null, 2) };
      } catch (err) {
        out = { ok: false, text: err.message };
      }
      update({ tried: { ...state.tried, [key]: out } });
    };
    const result = state.tried[key];
    return html`
      <details class="try-form" data-try=${x.type}>
        <summary>Try the form</summary>
        <form @submit=${submit} aria-label="Settings of ${x.type} (preview, not saved)">
          ${schemaFields(x.config_schema, {}, { prefix })}
          ${x.config_schema.length ? html`<button type="submit">Show the settings it sends</button>` : ''}
        </form>
        <pre class="try-result ${result && !result.ok ? 'error-text' : ''}" aria-live="polite">${result ? result.text : ''}</pre>
      </details>`;
  };

  const card = (p) => html`
    <article class="card plugin" data-plugin=${p.id}>
      <header>
        <h2>${p.id} <span class="muted">${p.version || ''}</span></h2>
        <span class="state state-${p.state}">${p.state}</span>
      </header>
      ${p.description ? html`<p>${p.description}</p>` : ''}
      ${p.error ? html`<p class="error-text">${p.error}</p>` : ''}
      ${Object.entries(p.extensions).map(([point, exts]) => exts.map((x) => html`
        <section class="extension">
          <h3>${POINTS[point] || point}: <code>${x.type}</code> <span class="muted">${x.display_name}</span></h3>
          ${x.description ? html`<p>${x.description}</p>` : ''}
          ${settings(x.config_schema)}
          ${tryIt(p, point, x)}
        </section>`))}
      ${admin ? html`
        <footer class="actions">
          ${p.state === 'started'
            ? html`<button ?disabled=${state.busy} @click=${() => act(`Disabled ${p.id}`, () => api(`/api/plugins/${encodeURIComponent(p.id)}/disable`, { method: 'POST' }))}>Disable</button>`
            : p.version ? html`<button ?disabled=${state.busy} @click=${() => act(`Enabled ${p.id}`, () => api(`/api/plugins/${encodeURIComponent(p.id)}/enable`, { method: 'POST' }))}>Enable</button>` : ''}
          <button class="danger" ?disabled=${state.busy} @click=${() => remove(p)}>Delete</button>
        </footer>` : ''}
    </article>`;

  const view = () => html`
    <div class="page-head">
      <h1>Plugins</h1>
      ${admin ? html`
        <form class="upload" @submit=${upload}>
          <label for="plugin-file">Install a plugin jar</label>
          <input id="plugin-file" name="file" type="file" accept=".jar" required>
          <button class="primary" type="submit" ?disabled=${state.busy}>Upload</button>
        </form>` : ''}
    </div>
    ${state.notice ? html`<div class=${state.notice.ok ? 'notice' : 'error'} role="status">${state.notice.text}</div>` : ''}
    ${state.error ? errorBox(state.error, load)
      : state.plugins === null ? loading('Loading plugins')
      : state.plugins.length === 0 ? empty('No plugins are installed. Drop plugin jars into the plugins directory or upload one.')
      : html`<div class="cards">${state.plugins.map(card)}</div>`}`;

  render(view(), el);
  load();
}
