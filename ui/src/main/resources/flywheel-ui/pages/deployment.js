// One deployment: the versions it serves, continuous training, the shadow's comparison with promote and rollback,
// continuous deployment (those three in deployment-loop.js), its review settings, feedback loop, reference data and
// recent predictions. #/deployments/{d}/runs is its training-run history (runs.js).
import { html, render } from 'lit-html';
import { api } from '../api.js';
import { errorBox, loading } from '../components/feedback.js';
import {
  datasetCatalog, datasetVersionLink, datasetVersionName, datasetVersionSelect, versionLink,
} from '../components/lookup.js';
import { fmtActor, fmtAgo, fmtAtLeast, fmtNumber, fmtPercent, fmtTime } from '../format.js';
import { loopPanels } from './deployment-loop.js';
import { loopState, summary } from './deployments.js';
import { mountHistory } from './runs.js';

const STATUSES = ['TO_REVIEW', 'REVIEWED', 'SUBMITTED'];
const PAGE = 25;

export const statusBadge = (s) => html`<span class="status status-${s.toLowerCase()}">${s.replace('_', ' ').toLowerCase()}</span>`;

export const reviewText = (p) => {
  if (!p.review) return '';
  const r = p.review;
  const what = r.action === 'correct' ? html`corrected to <strong>${r.label}</strong>` : r.action === 'accept' ? 'accepted' : 'rejected';
  return html`${what} <span class="muted">by ${fmtActor(r.by)}, ${fmtAgo(r.at)}</span>`;
};

export function mount(el, ctx) {
  if (ctx.params[1] === 'runs') return mountHistory(el, ctx, ctx.params[0]);
  return mountDeployment(el, ctx);
}

function mountDeployment(el, { me, params, navigate }) {
  const id = params[0];
  const enc = encodeURIComponent(id);
  const canEdit = me.role === 'admin' || me.role === 'engineer';
  let state = {
    d: null, s: null, catalog: [], attached: [], reference: null, error: null, notice: null, busy: false,
    filter: { status: '', label: '', confidence_below: '' }, predictions: null, cursor: null, predictionsError: null,
  };
  let gone = false;

  const update = (patch) => {
    state = { ...state, ...patch };
    if (!gone) render(view(), el);
  };

  const load = async () => {
    try {
      const d = await api(`/api/deployments/${enc}`);
      const [s, catalog] = await Promise.all([summary(d), datasetCatalog()]);
      const attached = s.loop ? await Promise.all(s.loop.dataset_version_ids.map(datasetVersionName)) : [];
      const reference = d.reference_dataset_version_id ? await datasetVersionName(d.reference_dataset_version_id) : null;
      update({ d, s, catalog, attached, reference, error: null });
      panels.load(d);
    } catch (e) {
      update({ error: e });
    }
  };

  // Continuous training, the shadow's comparison and continuous deployment: they refresh themselves.
  const panels = loopPanels({
    id, me, navigate, rerender: () => { if (!gone && state.d) render(view(), el); }, reloadDeployment: () => load(),
  });

  const loadPredictions = async (more = false) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    for (const [k, v] of Object.entries(state.filter)) if (v) q.set(k, v);
    if (more && state.cursor) q.set('cursor', state.cursor);
    try {
      const page = await api(`/api/deployments/${enc}/predictions?${q}`);
      update({ predictions: more ? [...state.predictions, ...page.items] : page.items, cursor: page.next_cursor, predictionsError: null });
    } catch (e) {
      update({ predictionsError: e });
    }
  };

  /** Runs a change, says how it went, and shows the deployment as it now is. */
  const act = async (done, call) => {
    update({ busy: true, notice: null });
    try {
      await call();
      update({ notice: { ok: true, text: done } });
    } catch (e) {
      update({ notice: { ok: false, text: e.message } });
    }
    await load();
    update({ busy: false });
  };

  const saveSettings = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const settings = {
      capture_mode: f.get('capture_mode'),
      review_confidence_threshold: Number(f.get('review_confidence_threshold')),
      review_sample_rate: Number(f.get('review_sample_rate')),
    };
    act('Settings saved.', () => api(`/api/deployments/${enc}/settings`, { method: 'PUT', json: { settings } }));
  };

  const attach = (e) => {
    e.preventDefault();
    const dv = new FormData(e.target).get('dataset_version_id');
    act('Dataset version attached.', () => api(`/api/deployments/${enc}/feedback-loop/dataset-versions`, { method: 'POST', json: { dataset_version_id: dv } }));
  };

  const setReference = (e) => {
    e.preventDefault();
    const dv = new FormData(e.target).get('dataset_version_id');
    act('Reference data set.', () => api(`/api/deployments/${enc}/reference`, { method: 'PUT', json: { dataset_version_id: dv } }));
  };

  const toggleLoop = async (active) => {
    await act(active ? 'Feedback loop turned on.' : 'Feedback loop turned off.',
      () => api(`/api/deployments/${enc}/feedback-loop/active`, { method: 'PUT', json: { active } }));
    loadPredictions();
  };

  const applyFilter = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    update({ filter: { status: f.get('status'), label: f.get('label'), confidence_below: f.get('confidence_below').trim() }, predictions: null });
    loadPredictions();
  };

  const tile = (label, value, key) => html`<div class="tile" data-stat=${key}><span class="tile-value">${value}</span><span class="tile-label">${label}</span></div>`;

  const settingsCard = (d) => html`
    <section class="card" aria-labelledby="settings-h">
      <h2 id="settings-h">Settings</h2>
      <form class="settings-form" @submit=${saveSettings}>
        <label for="capture_mode">Capture mode
          <select id="capture_mode" name="capture_mode" .value=${d.settings.capture_mode} ?disabled=${!canEdit}>
            <option value="durable">durable: answer once logged</option>
            <option value="async">async: answer at once</option>
          </select>
        </label>
        <label for="review_confidence_threshold">Review confidence threshold
          <input id="review_confidence_threshold" name="review_confidence_threshold" type="number" min="0" max="1" step="any"
                 required .value=${String(d.settings.review_confidence_threshold)} ?disabled=${!canEdit}
                 aria-describedby="threshold-help">
        </label>
        <label for="review_sample_rate">Review sample rate
          <input id="review_sample_rate" name="review_sample_rate" type="number" min="0.0001" max="1" step="any"
                 required .value=${String(d.settings.review_sample_rate)} ?disabled=${!canEdit}
                 aria-describedby="rate-help">
        </label>
        ${canEdit ? html`<button class="primary" type="submit" ?disabled=${state.busy}>Save settings</button>` : ''}
      </form>
      <p class="hint" id="threshold-help">Predictions less confident than the threshold lead the review queue as anomalies.</p>
      <p class="hint" id="rate-help">The share of the other predictions that enters the queue (1 = all of them).</p>
    </section>`;

  const loopCard = ({ loop }) => html`
    <section class="card" aria-labelledby="loop-h" data-panel="feedback-loop">
      <header><h2 id="loop-h">Feedback loop</h2> ${loopState(loop)}</header>
      ${loop === null ? html`
        <p>Reviewed predictions become dataset items once a feedback loop is set up, given dataset versions and turned on.</p>
        ${canEdit ? html`<button class="primary" ?disabled=${state.busy}
            @click=${() => act('Feedback loop set up.', () => api(`/api/deployments/${enc}/feedback-loop`, { method: 'POST' }))}>Set up feedback loop</button>` : ''}`
      : html`
        <div class="tiles small" aria-live="polite">
          ${tile('pending: reviewed, not yet in datasets', fmtNumber(loop.pending), 'pending')}
          ${tile('submitted to datasets', fmtNumber(loop.submitted), 'submitted')}
        </div>
        ${canEdit ? html`
          <button class=${loop.active ? '' : 'primary'} ?disabled=${state.busy} data-action="toggle-loop"
                  @click=${() => toggleLoop(!loop.active)}>${loop.active ? 'Turn off' : 'Turn on'}</button>` : ''}
        <h3>Dataset versions it feeds</h3>
        ${state.attached.length === 0 ? html`<p class="muted">None yet: attach one below.</p>` : html`
          <ul class="attached">${state.attached.map((dv) => html`
            <li>${datasetVersionLink(dv)}
              ${canEdit ? html`<button class="link danger" ?disabled=${state.busy}
                  @click=${() => act(`Detached ${dv.dataset_name} / ${dv.name}.`, () => api(`/api/deployments/${enc}/feedback-loop/dataset-versions/${encodeURIComponent(dv.id)}`, { method: 'DELETE' }))}>Detach</button>` : ''}
            </li>`)}
          </ul>`}
        ${canEdit ? html`
          <form class="row" @submit=${attach}>
            <label for="attach-dv">Attach a dataset version ${datasetVersionSelect('attach-dv', state.catalog, loop.dataset_version_ids)}</label>
            <button type="submit" ?disabled=${state.busy}>Attach</button>
          </form>` : ''}`}
    </section>`;

  const referenceCard = () => html`
    <section class="card" aria-labelledby="ref-h" data-panel="reference">
      <h2 id="ref-h">Reference data</h2>
      <p>The training data drift is measured against:
        <span data-reference>${state.reference ? datasetVersionLink(state.reference) : html`<span class="muted">none set</span>`}</span></p>
      ${canEdit ? html`
        <form class="row" @submit=${setReference}>
          <label for="reference-dv">Dataset version ${datasetVersionSelect('reference-dv', state.catalog, [], state.d.reference_dataset_version_id)}</label>
          <button type="submit" ?disabled=${state.busy}>Set reference</button>
        </form>` : ''}
    </section>`;

  const shadowCell = (p) => (!p.shadow ? html`<span class="muted">—</span>`
    : p.shadow.status === 'ok' ? html`<span class=${p.shadow.label !== p.label ? 'warn' : ''}>${p.shadow.label}</span> <span class="muted">${fmtPercent(p.shadow.confidence)}</span>`
    : html`<span class="muted">${p.shadow.status}</span>`);

  const predictionRow = (p, withShadow) => html`
    <tr data-prediction=${p.id}>
      <td class="nowrap" title=${fmtTime(p.created_at)}>${fmtAgo(p.created_at)}</td>
      <td class="nowrap">${p.label}</td>
      <td class="num">${fmtPercent(p.confidence)}</td>
      ${withShadow ? html`<td>${shadowCell(p)}</td>` : ''}
      <td>${statusBadge(p.status)}</td>
      <td>${reviewText(p)}${p.flag ? html`<div class="muted">flagged: ${p.flag.reason}</div>` : ''}</td>
      <td><code class="muted id">${p.id}</code></td>
    </tr>`;

  const predictionsSection = () => {
    const withShadow = state.predictions !== null && state.predictions.some((p) => p.shadow);
    return html`
    <section aria-labelledby="predictions-h" class="predictions">
      <h2 id="predictions-h">Recent predictions</h2>
      <form class="filters" @submit=${applyFilter} aria-label="Filter predictions">
        <label for="f-status">Status
          <select id="f-status" name="status" .value=${state.filter.status}>
            <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
        </label>
        <label for="f-label">Label
          <select id="f-label" name="label" .value=${state.filter.label}>
            <option value="">any</option>${(state.s.primary ? state.s.primary.labels : []).map((l) => html`<option value=${l}>${l}</option>`)}
          </select>
        </label>
        <label for="f-conf">Confidence below <input id="f-conf" name="confidence_below" type="number" min="0" max="1" step="any" .value=${state.filter.confidence_below} placeholder="0.6"></label>
        <button type="submit">Filter</button>
      </form>
      ${state.predictionsError ? errorBox(state.predictionsError, () => loadPredictions())
        : state.predictions === null ? loading('Loading predictions')
        : state.predictions.length === 0 ? html`<p class="empty">No predictions match.</p>`
        : html`
          <div class="table-wrap">
            <table class="predictions-table">
              <thead><tr><th scope="col">When</th><th scope="col">Label</th><th scope="col" class="num">Confidence</th>
                ${withShadow ? html`<th scope="col">Shadow</th>` : ''}
                <th scope="col">Status</th><th scope="col">Review</th><th scope="col">Id</th></tr></thead>
              <tbody>${state.predictions.map((p) => predictionRow(p, withShadow))}</tbody>
            </table>
          </div>
          ${state.cursor ? html`<button @click=${() => loadPredictions(true)}>More predictions</button>` : ''}`}
    </section>`;
  };

  const view = () => {
    if (state.error) return html`<p><a href="#/deployments">← Deployments</a></p>${errorBox(state.error, load)}`;
    if (state.d === null) return loading('Loading deployment');
    const { d, s } = state;
    return html`
      <p class="crumbs"><a href="#/deployments">Deployments</a> /</p>
      <div class="page-head">
        <h1>${d.name}</h1>
        <div class="row">
          <a class="button" href="#/deployments/${d.id}/runs">Training runs</a>
          <a class="button" href="#/review/${d.id}">Review predictions</a>
        </div>
      </div>
      <p class="muted">Created ${fmtTime(d.created_at)} by ${fmtActor(d.created_by)} · <code>${d.id}</code></p>
      ${state.notice ? html`<div class=${state.notice.ok ? 'notice' : 'error'} role="status">${state.notice.text}</div>` : ''}
      <div class="tiles" aria-live="polite">
        ${tile('predictions', fmtAtLeast(s.predictions, s.morePredictions), 'predictions')}
        ${tile('to review', fmtNumber(s.stats.to_review), 'to-review')}
        ${tile('anomalies', fmtNumber(s.stats.anomalies), 'anomalies')}
        ${tile('reviewed (accepted or corrected)', fmtNumber(s.stats.reviewed), 'reviewed')}
      </div>
      <div class="columns">
        <div class="col">
          <section class="card" aria-labelledby="models-h" data-panel="models">
            <h2 id="models-h">Models</h2>
            <dl class="facts">
              <dt>Primary</dt><dd data-primary>${versionLink(s.primary)}</dd>
              <dt>Shadow</dt><dd data-shadow>${versionLink(s.shadow)}</dd>
            </dl>
          </section>
          ${panels.training()}
          ${panels.deployment()}
        </div>
        <div class="col">
          ${panels.shadow(d, s)}
          ${loopCard(s)}
          ${settingsCard(d)}
          ${referenceCard()}
        </div>
      </div>
      ${predictionsSection()}`;
  };

  render(view(), el);
  load();
  loadPredictions();
  return () => {
    gone = true;
    panels.stop();
  };
}
