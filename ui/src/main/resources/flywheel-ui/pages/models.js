// The model registry: models (#/models), a model's versions (#/models/{m}) and one version with its metadata,
// its lineage and the deployments that serve it (#/models/{m}/{v}).
import { html, render } from 'lit-html';
import { api } from '../api.js';
import { canCreate, createForm, formStates } from '../components/create-form.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { datasetVersionLink, datasetVersionName, maybeModelVersion, versionLink } from '../components/lookup.js';
import { fmtActor, fmtAgo, fmtBytes, fmtNumber, fmtTime } from '../format.js';

const enc = encodeURIComponent;

const inputText = (input) => (!input ? '—'
  : input.kind === 'features' ? `${fmtNumber(input.size)} features`
  : input.kind === 'image' ? `image ${input.width}×${input.height}×${input.channels}` : input.kind);

/** Which deployments serve a version, as primary or shadow. */
async function servedBy(versionIds) {
  const deployments = (await api('/api/deployments?limit=500')).items;
  return deployments.flatMap((d) => [
    ...(versionIds.includes(d.primary_model_version_id) ? [{ d, role: 'primary', v: d.primary_model_version_id }] : []),
    ...(versionIds.includes(d.shadow_model_version_id) ? [{ d, role: 'shadow', v: d.shadow_model_version_id }] : []),
  ]);
}

const servedList = (uses) => (uses.length === 0 ? html`<span class="muted">not deployed</span>` : uses.map((u, i) => html`
  ${i ? ', ' : ''}<a href="#/deployments/${u.d.id}">${u.d.name}</a> <span class="muted">(${u.role})</span>`));

/** What the model.json box starts with: the contract's fields, to edit. */
const METADATA_TEMPLATE = JSON.stringify({
  format: 'torchscript', task: 'classification', labels: ['first', 'second', 'third'],
  input: { kind: 'features', size: 4 }, output: 'logits',
}, null, 2);

export function mount(el, { me, params, navigate }) {
  const [modelId, versionId] = params;
  let state = { data: null, error: null };
  let gone = false;

  const update = (patch) => {
    state = { ...state, ...patch };
    if (!gone) render(view(), el);
  };
  const forms = formStates(update);

  const createModel = forms.handler('model', async (f) => {
    const model = await api('/api/models', { method: 'POST', json: { name: f.get('name').trim() } });
    navigate(`#/models/${model.id}`);
  });

  const uploadVersion = forms.handler('version', async (f, form) => {
    const body = new FormData();
    body.append('file', f.get('file'));
    body.append('metadata', f.get('metadata'));
    const v = await api(`/api/models/${enc(modelId)}/versions`, { method: 'POST', body });
    form.querySelector('input[type=file]').value = '';
    await load();
    return html`Uploaded <a href="#/models/${modelId}/${v.id}">v${v.version}</a>.`;
  });

  const newModelForm = () => createForm({
    key: 'model', title: 'New model', submit: 'Create model', state: forms.of('model'), onSubmit: createModel,
  }, html`
    <label for="model-name">Name <input id="model-name" name="name" required maxlength="200" autocomplete="off"></label>`);

  const uploadForm = () => createForm({
    key: 'version', title: 'Upload a version', submit: 'Upload', state: forms.of('version'), onSubmit: uploadVersion,
  }, html`
    <label for="version-file">Artifact (TorchScript model.pt, or a .zip of a model directory)
      <input id="version-file" name="file" type="file" accept=".pt,.zip" required></label>
    <label for="version-metadata" class="wide">model.json
      <textarea id="version-metadata" name="metadata" class="mono" rows="14" required spellcheck="false">${METADATA_TEMPLATE}</textarea></label>
    <p class="hint wide">The server checks model.json against the artifact contract and runs the model once; a refusal says why.</p>`);

  const load = async () => {
    try {
      if (versionId) {
        const [model, version, lineage] = await Promise.all([
          api(`/api/models/${enc(modelId)}`), api(`/api/model-versions/${enc(versionId)}`),
          api(`/api/model-versions/${enc(versionId)}/lineage`)]);
        const [parent, datasets, uses] = await Promise.all([
          maybeModelVersion(lineage.parent_version_id),
          Promise.all(lineage.dataset_version_ids.map((id) => datasetVersionName(id).catch(() => ({ id, missing: true })))),
          servedBy([versionId])]);
        update({ data: { model, version, lineage, parent, datasets, uses }, error: null });
      } else if (modelId) {
        const [model, versions] = await Promise.all([
          api(`/api/models/${enc(modelId)}`), api(`/api/models/${enc(modelId)}/versions?limit=500`)]);
        const uses = await servedBy(versions.items.map((v) => v.id));
        update({ data: { model, versions: versions.items, more: versions.next_cursor !== null, uses }, error: null });
      } else {
        update({ data: { models: (await api('/api/models?limit=500')).items }, error: null });
      }
    } catch (e) {
      update({ error: e });
    }
  };

  const listView = ({ models }) => html`
    <div class="page-head"><h1>Models</h1></div>
    ${canCreate(me) ? newModelForm() : ''}
    ${models.length === 0 ? empty(canCreate(me) ? 'No models yet. Create one, then upload its versions.'
      : 'No models yet. An engineer creates them and uploads their versions.') : html`
      <div class="table-wrap">
        <table class="models">
          <thead><tr><th scope="col">Model</th><th scope="col" class="num">Latest version</th><th scope="col">Created</th><th scope="col">By</th></tr></thead>
          <tbody>${models.map((m) => html`
            <tr data-model=${m.id}>
              <th scope="row"><a href="#/models/${m.id}">${m.name}</a></th>
              <td class="num">${m.latest_version === null ? '—' : `v${m.latest_version}`}</td>
              <td title=${fmtTime(m.created_at)}>${fmtAgo(m.created_at)}</td>
              <td class="muted">${fmtActor(m.created_by)}</td>
            </tr>`)}
          </tbody>
        </table>
      </div>`}`;

  const modelView = ({ model, versions, more, uses }) => html`
    <p class="crumbs"><a href="#/models">Models</a> /</p>
    <div class="page-head"><h1>${model.name}</h1></div>
    <p class="muted">Created ${fmtTime(model.created_at)} by ${fmtActor(model.created_by)} · <code>${model.id}</code></p>
    ${canCreate(me) ? uploadForm() : ''}
    ${versions.length === 0 ? empty('No versions yet.') : html`
      <div class="table-wrap">
        <table class="versions">
          <thead><tr><th scope="col">Version</th><th scope="col">Format</th><th scope="col">Input</th><th scope="col">Labels</th>
            <th scope="col" class="num">Size</th><th scope="col">Deployed</th><th scope="col">Created</th></tr></thead>
          <tbody>${versions.map((v) => html`
            <tr data-version=${v.id}>
              <th scope="row"><a href="#/models/${model.id}/${v.id}">v${v.version}</a></th>
              <td>${v.format}</td>
              <td>${inputText(v.metadata.input)}</td>
              <td>${v.metadata.labels.join(', ')}</td>
              <td class="num">${fmtBytes(v.artifact_size)}</td>
              <td>${servedList(uses.filter((u) => u.v === v.id))}</td>
              <td title=${fmtTime(v.created_at)}>${fmtAgo(v.created_at)} <span class="muted">by ${fmtActor(v.created_by)}</span></td>
            </tr>`)}
          </tbody>
        </table>
      </div>
      ${more ? html`<p class="hint">Showing the first ${fmtNumber(versions.length)} versions.</p>` : ''}`}`;

  const versionView = ({ model, version: v, lineage, parent, datasets, uses }) => html`
    <p class="crumbs"><a href="#/models">Models</a> / <a href="#/models/${model.id}">${model.name}</a> /</p>
    <div class="page-head"><h1>${model.name} v${v.version}</h1></div>
    <div class="grid2">
      <section class="card" aria-labelledby="meta-h">
        <h2 id="meta-h">Metadata</h2>
        <dl class="facts">
          <dt>Format</dt><dd>${v.format}</dd>
          <dt>Task</dt><dd>${v.metadata.task}</dd>
          <dt>Input</dt><dd>${inputText(v.metadata.input)}</dd>
          <dt>Output</dt><dd>${v.metadata.output}</dd>
          <dt>Labels</dt><dd><ol class="labels-inline">${v.metadata.labels.map((l) => html`<li>${l}</li>`)}</ol></dd>
          <dt>Artifact</dt><dd><code>${v.artifact_file}</code>, ${fmtBytes(v.artifact_size)}</dd>
          <dt>SHA-256</dt><dd><code class="hash">${v.artifact_sha256}</code></dd>
          <dt>Created</dt><dd>${fmtTime(v.created_at)} by ${fmtActor(v.created_by)}</dd>
          <dt>Id</dt><dd><code>${v.id}</code></dd>
        </dl>
        <details><summary>model.json</summary><pre>${JSON.stringify(v.metadata, null, 2)}</pre></details>
      </section>
      <section class="card" aria-labelledby="lineage-h" data-panel="lineage">
        <h2 id="lineage-h">Lineage</h2>
        <dl class="facts">
          <dt>Parent version</dt><dd>${parent ? versionLink(parent) : html`<span class="muted">none: uploaded by hand</span>`}</dd>
          <dt>Training run</dt><dd>${lineage.training_run_id ? html`<a href="#/runs/${lineage.training_run_id}"><code>${lineage.training_run_id}</code></a>` : html`<span class="muted">none</span>`}</dd>
          <dt>Trained on</dt><dd>${datasets.length === 0 ? html`<span class="muted">no recorded dataset versions</span>`
            : html`<ul class="plain">${datasets.map((dv) => html`<li>${dv.missing ? html`<code>${dv.id}</code>` : datasetVersionLink(dv)}</li>`)}</ul>`}</dd>
          <dt>Deployed</dt><dd>${servedList(uses)}</dd>
        </dl>
      </section>
    </div>`;

  const view = () => {
    if (state.error) return errorBox(state.error, load);
    if (state.data === null) return loading(versionId ? 'Loading the model version' : modelId ? 'Loading the model' : 'Loading models');
    return versionId ? versionView(state.data) : modelId ? modelView(state.data) : listView(state.data);
  };

  render(view(), el);
  load();
  return () => { gone = true; };
}
