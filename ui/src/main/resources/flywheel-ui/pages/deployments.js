// Deployments at a glance: what each serves (primary and shadow), its traffic, what waits for review and
// whether its feedback loop runs.
import { html, render } from 'lit-html';
import { api } from '../api.js';
import { canCreate, createForm, formStates } from '../components/create-form.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { maybeModelVersion, versionLink } from '../components/lookup.js';
import { fmtAgo, fmtAtLeast, fmtNumber, fmtTime } from '../format.js';

/** How many predictions are counted for "traffic": one page of the prediction list (the API has no count). */
export const TRAFFIC_PAGE = 500;

/** Everything the list and the detail page show about a deployment beyond its own fields. */
export async function summary(d) {
  const enc = encodeURIComponent(d.id);
  const [primary, shadow, stats, traffic, loop] = await Promise.all([
    maybeModelVersion(d.primary_model_version_id),
    maybeModelVersion(d.shadow_model_version_id),
    api(`/api/deployments/${enc}/review-stats`),
    api(`/api/deployments/${enc}/predictions?limit=${TRAFFIC_PAGE}`),
    loopOf(d.id),
  ]);
  return {
    primary,
    shadow,
    stats,
    predictions: traffic.items.length,
    morePredictions: traffic.next_cursor !== null,
    lastPrediction: traffic.items.length ? traffic.items[0].created_at : null,
    loop,
  };
}

/** The deployment's feedback loop, or null when none is set up (the API answers 404). */
export async function loopOf(id) {
  try {
    return await api(`/api/deployments/${encodeURIComponent(id)}/feedback-loop`);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

export const loopState = (loop) => (loop === null
  ? html`<span class="state">not set up</span>`
  : loop.active ? html`<span class="state state-started">on</span>` : html`<span class="state state-disabled">off</span>`);

export function mount(el, { me, navigate }) {
  // models: for the version picker (null until loaded); versions: the chosen model's, newest first.
  let state = { rows: null, error: null, models: null, versions: null, pickError: null };
  let gone = false;

  const update = (patch) => {
    state = { ...state, ...patch };
    if (!gone) render(view(), el);
  };
  const forms = formStates(update);

  const loadModels = async () => {
    try {
      const models = (await api('/api/models?limit=500')).items.filter((m) => m.latest_version !== null);
      update({ models, pickError: null });
      if (models.length) pickModel(models[models.length - 1].id);
    } catch (e) {
      update({ pickError: e });
    }
  };

  const pickModel = async (id) => {
    update({ versions: null });
    try {
      const versions = (await api(`/api/models/${encodeURIComponent(id)}/versions?limit=500`)).items;
      update({ versions: [...versions].reverse(), pickError: null });
    } catch (e) {
      update({ pickError: e });
    }
  };

  const createDeployment = forms.handler('deployment', async (f) => {
    const d = await api('/api/deployments', {
      method: 'POST',
      json: { name: f.get('name').trim(), model_version_id: f.get('model_version_id'), settings: { capture_mode: f.get('capture_mode') } },
    });
    navigate(`#/deployments/${d.id}`);
  });

  const newDeploymentForm = () => createForm({
    key: 'deployment', title: 'New deployment', submit: 'Create deployment', state: forms.of('deployment'),
    onSubmit: createDeployment,
  }, html`
    <label for="deployment-name">Name <input id="deployment-name" name="name" required maxlength="200" autocomplete="off"></label>
    <label for="deployment-model">Model
      <select id="deployment-model" ?disabled=${!state.models || state.models.length === 0}
              @change=${(e) => pickModel(e.target.value)}>
        ${(state.models || []).map((m, i, all) => html`<option value=${m.id} ?selected=${i === all.length - 1}>${m.name}</option>`)}
      </select></label>
    <label for="deployment-version">Version
      <select id="deployment-version" name="model_version_id" required ?disabled=${!state.versions}>
        ${(state.versions || []).map((v) => html`<option value=${v.id}>v${v.version} · ${v.metadata.labels.length} labels</option>`)}
      </select></label>
    <label for="deployment-capture">Capture mode
      <select id="deployment-capture" name="capture_mode">
        <option value="durable">durable: answer once logged</option>
        <option value="async">async: answer at once</option>
      </select></label>
    ${state.pickError ? html`<div class="wide">${errorBox(state.pickError, loadModels)}</div>` : ''}
    ${state.models && state.models.length === 0
      ? html`<p class="hint wide">No model has a version yet: <a href="#/models">upload one</a> first.</p>` : ''}`);

  const load = async () => {
    try {
      const items = (await api('/api/deployments?limit=500')).items;
      const summaries = await Promise.all(items.map(summary));
      update({ rows: items.map((d, i) => ({ d, ...summaries[i] })), error: null });
    } catch (e) {
      update({ error: e });
    }
  };

  const row = ({ d, primary, shadow, stats, predictions, morePredictions, lastPrediction, loop }) => html`
    <tr data-deployment=${d.id}>
      <th scope="row"><a href="#/deployments/${d.id}">${d.name}</a></th>
      <td>${versionLink(primary)}</td>
      <td>${versionLink(shadow)}</td>
      <td class="num" data-col="predictions">${fmtAtLeast(predictions, morePredictions)}</td>
      <td title=${lastPrediction ? fmtTime(lastPrediction) : ''}>${lastPrediction ? fmtAgo(lastPrediction) : '—'}</td>
      <td class="num" data-col="to-review">${fmtNumber(stats.to_review)}</td>
      <td class="num" data-col="anomalies">${stats.anomalies ? html`<span class="warn">${fmtNumber(stats.anomalies)}</span>` : '0'}</td>
      <td data-col="loop">${loopState(loop)}${loop ? html` <span class="muted">${fmtNumber(loop.submitted)} submitted</span>` : ''}</td>
      <td><a href="#/review/${d.id}">Review</a></td>
    </tr>`;

  const view = () => html`
    <div class="page-head"><h1>Deployments</h1></div>
    ${canCreate(me) ? newDeploymentForm() : ''}
    ${state.error ? errorBox(state.error, load)
      : state.rows === null ? loading('Loading deployments')
      : state.rows.length === 0 ? empty(canCreate(me) ? 'No deployments yet. Create one to serve a model version.'
        : 'No deployments yet. An engineer creates them.')
      : html`
        <div class="table-wrap">
          <table class="deployments">
            <thead><tr>
              <th scope="col">Deployment</th><th scope="col">Primary</th><th scope="col">Shadow</th>
              <th scope="col" class="num">Predictions</th><th scope="col">Last prediction</th>
              <th scope="col" class="num">To review</th><th scope="col" class="num">Anomalies</th>
              <th scope="col">Feedback loop</th><th scope="col"><span class="sr-only">Actions</span></th>
            </tr></thead>
            <tbody>${state.rows.map(row)}</tbody>
          </table>
        </div>`}`;

  render(view(), el);
  load();
  if (canCreate(me)) loadModels();
  return () => { gone = true; };
}
