// Datasets (#/datasets), a dataset's versions (#/datasets/{ds}) and one version's items with its export
// (#/datasets/{ds}/{dv}).
import { html, render } from 'lit-html';
import { api, apiBlob, saveBlob } from '../api.js';
import { canCreate, createForm, formStates } from '../components/create-form.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { fmtActor, fmtAgo, fmtBytes, fmtNumber, fmtPercent, fmtTime } from '../format.js';
import { reviewText, statusBadge } from './deployment.js';

const enc = encodeURIComponent;
const PAGE = 50;

export function mount(el, { me, params, navigate }) {
  const [datasetId, versionId] = params;
  const canExport = canCreate(me); // export and the "New …" forms
  let state = {
    data: null, error: null, items: null, cursor: null, itemsError: null, filter: { split: '', label: '' },
    open: {}, exporting: false, notice: null, itemKind: 'features',
  };
  const thumbs = new Map(); // prediction id → blob URL (an item's asset is its prediction's input)
  let gone = false;

  const update = (patch) => {
    state = { ...state, ...patch };
    if (!gone) render(view(), el);
  };

  const load = async () => {
    try {
      if (versionId) {
        const [dataset, version] = await Promise.all([api(`/api/datasets/${enc(datasetId)}`), api(`/api/dataset-versions/${enc(versionId)}`)]);
        update({ data: { dataset, version }, error: null });
        loadItems();
      } else if (datasetId) {
        const [dataset, versions] = await Promise.all([api(`/api/datasets/${enc(datasetId)}`), api(`/api/datasets/${enc(datasetId)}/versions?limit=500`)]);
        update({ data: { dataset, versions: versions.items }, error: null });
      } else {
        update({ data: { datasets: (await api('/api/datasets?limit=500')).items }, error: null });
      }
    } catch (e) {
      update({ error: e });
    }
  };

  const forms = formStates((patch) => update(patch));

  const createDataset = forms.handler('dataset', async (f) => {
    const description = f.get('description').trim();
    const ds = await api('/api/datasets', { method: 'POST', json: { name: f.get('name').trim(), ...(description ? { description } : {}) } });
    navigate(`#/datasets/${ds.id}`);
  });

  const createVersion = forms.handler('version', async (f) => {
    const labels = f.get('labels').split('\n').map((l) => l.trim()).filter(Boolean);
    const fraction = f.get('validation_fraction').trim();
    const v = await api(`/api/datasets/${enc(datasetId)}/versions`, {
      method: 'POST',
      json: { name: f.get('name').trim(), ...(labels.length ? { labels } : {}), ...(fraction ? { validation_fraction: Number(fraction) } : {}) },
    });
    navigate(`#/datasets/${datasetId}/${v.id}`);
  });

  const addItem = forms.handler('item', async (f, form) => {
    const label = f.get('label').trim();
    const split = f.get('split');
    let item;
    if (state.itemKind === 'image') {
      const body = new FormData();
      body.append('file', f.get('file'));
      body.append('label', label);
      if (split) body.append('split', split);
      item = await api(`/api/dataset-versions/${enc(versionId)}/items`, { method: 'POST', body });
    } else {
      const text = f.get('features').trim();
      const features = text.split(/[\s,]+/).filter(Boolean).map(Number);
      if (features.length === 0 || features.some((x) => !Number.isFinite(x))) {
        throw new Error('Features must be numbers separated by commas, such as 5.1, 3.5, 1.4, 0.2.');
      }
      item = await api(`/api/dataset-versions/${enc(versionId)}/items`, {
        method: 'POST', json: { features, label, ...(split ? { split } : {}) },
      });
    }
    form.querySelectorAll('#item-features, #item-file').forEach((input) => { input.value = ''; });
    await load();
    return `Added item ${fmtNumber(item.seq)} (${item.label}, ${item.split}).`;
  });

  const newDatasetForm = () => createForm({
    key: 'dataset', title: 'New dataset', submit: 'Create dataset', state: forms.of('dataset'), onSubmit: createDataset,
  }, html`
    <label for="dataset-name">Name <input id="dataset-name" name="name" required maxlength="200" autocomplete="off"></label>
    <label for="dataset-description" class="wide">Description <input id="dataset-description" name="description" autocomplete="off"></label>`);

  const newVersionForm = () => createForm({
    key: 'version', title: 'New version', submit: 'Create version', state: forms.of('version'), onSubmit: createVersion,
  }, html`
    <label for="dv-name">Name <input id="dv-name" name="name" required maxlength="200" autocomplete="off" placeholder="v1"></label>
    <label for="dv-fraction">Validation fraction
      <input id="dv-fraction" name="validation_fraction" type="number" min="0" max="1" step="0.05" placeholder="0.2"></label>
    <label for="dv-labels" class="wide">Labels, one per line (empty: any label)
      <textarea id="dv-labels" name="labels" rows="4" spellcheck="false"></textarea></label>`);

  const addItemForm = (v) => createForm({
    key: 'item', title: 'Add item', submit: 'Add item', state: forms.of('item'), onSubmit: addItem,
  }, html`
    <fieldset class="wide kind">
      <legend>Kind</legend>
      <label class="inline"><input type="radio" name="kind" value="features" .checked=${state.itemKind === 'features'}
        @change=${() => update({ itemKind: 'features' })}> Features</label>
      <label class="inline"><input type="radio" name="kind" value="image" .checked=${state.itemKind === 'image'}
        @change=${() => update({ itemKind: 'image' })}> Image (PNG or JPEG)</label>
    </fieldset>
    ${state.itemKind === 'image'
      ? html`<label for="item-file">Image <input id="item-file" name="file" type="file" accept="image/png,image/jpeg" required></label>`
      : html`<label for="item-features">Features (comma-separated)
          <input id="item-features" name="features" class="mono" required autocomplete="off" placeholder="5.1, 3.5, 1.4, 0.2"></label>`}
    <label for="item-label">Label
      ${v.labels ? html`<select id="item-label" name="label" required>${v.labels.map((l) => html`<option value=${l}>${l}</option>`)}</select>`
        : html`<input id="item-label" name="label" required autocomplete="off">`}</label>
    <label for="item-split">Split
      <select id="item-split" name="split">
        <option value="">by content hash</option><option value="train">train</option><option value="validation">validation</option>
      </select></label>`);

  const loadItems = async (more = false) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    for (const [k, v] of Object.entries(state.filter)) if (v) q.set(k, v);
    if (more && state.cursor) q.set('cursor', state.cursor);
    try {
      const page = await api(`/api/dataset-versions/${enc(versionId)}/items?${q}`);
      update({ items: more ? [...state.items, ...page.items] : page.items, cursor: page.next_cursor, itemsError: null });
      page.items.filter((i) => i.content_type.startsWith('image/') && i.source_prediction_id).forEach(loadThumb);
    } catch (e) {
      update({ itemsError: e });
    }
  };

  const loadThumb = async (item) => {
    const p = item.source_prediction_id;
    if (thumbs.has(p)) return;
    thumbs.set(p, null);
    try {
      thumbs.set(p, URL.createObjectURL(await apiBlob(`/api/predictions/${enc(p)}/input`)));
      update({});
    } catch (e) {
      // no thumbnail; the row still says what the item is
    }
  };

  const toggleSource = async (id) => {
    if (state.open[id]) {
      update({ open: { ...state.open, [id]: undefined } });
      return;
    }
    update({ open: { ...state.open, [id]: { loading: true } } });
    try {
      update({ open: { ...state.open, [id]: { p: await api(`/api/predictions/${enc(id)}`) } } });
    } catch (e) {
      update({ open: { ...state.open, [id]: { error: e } } });
    }
  };

  const download = async () => {
    update({ exporting: true, notice: null });
    try {
      saveBlob(await apiBlob(`/api/dataset-versions/${enc(versionId)}/export`), `${state.data.dataset.name}-${state.data.version.name}.zip`);
      update({ notice: { ok: true, text: 'Export downloaded.' } });
    } catch (e) {
      update({ notice: { ok: false, text: e.message } });
    }
    update({ exporting: false });
  };

  const applyFilter = (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    update({ filter: { split: f.get('split'), label: f.get('label').trim() }, items: null });
    loadItems();
  };

  const listView = ({ datasets }) => html`
    <div class="page-head"><h1>Datasets</h1></div>
    ${canExport ? newDatasetForm() : ''}
    ${datasets.length === 0 ? empty(canExport ? 'No datasets yet. Create one, then a version to add items to.'
      : 'No datasets yet. An engineer creates them.') : html`
      <div class="table-wrap">
        <table class="datasets">
          <thead><tr><th scope="col">Dataset</th><th scope="col">Description</th><th scope="col">Created</th><th scope="col">By</th></tr></thead>
          <tbody>${datasets.map((d) => html`
            <tr data-dataset=${d.id}>
              <th scope="row"><a href="#/datasets/${d.id}">${d.name}</a></th>
              <td>${d.description || html`<span class="muted">—</span>`}</td>
              <td title=${fmtTime(d.created_at)}>${fmtAgo(d.created_at)}</td>
              <td class="muted">${fmtActor(d.created_by)}</td>
            </tr>`)}
          </tbody>
        </table>
      </div>`}`;

  const datasetView = ({ dataset, versions }) => html`
    <p class="crumbs"><a href="#/datasets">Datasets</a> /</p>
    <div class="page-head"><h1>${dataset.name}</h1></div>
    ${dataset.description ? html`<p>${dataset.description}</p>` : ''}
    ${canExport ? newVersionForm() : ''}
    ${versions.length === 0 ? empty('No versions yet.') : html`
      <div class="table-wrap">
        <table class="dataset-versions">
          <thead><tr><th scope="col">Version</th><th scope="col">Labels</th><th scope="col" class="num">Items</th>
            <th scope="col" class="num">Train</th><th scope="col" class="num">Validation</th><th scope="col">Created</th></tr></thead>
          <tbody>${versions.map((v) => html`
            <tr data-version=${v.id}>
              <th scope="row"><a href="#/datasets/${dataset.id}/${v.id}">${v.name}</a></th>
              <td>${v.labels ? v.labels.join(', ') : html`<span class="muted">any</span>`}</td>
              <td class="num" data-col="items">${fmtNumber(v.item_count)}</td>
              <td class="num">${fmtNumber(v.train_count)}</td>
              <td class="num">${fmtNumber(v.validation_count)}</td>
              <td title=${fmtTime(v.created_at)}>${fmtAgo(v.created_at)} <span class="muted">by ${fmtActor(v.created_by)}</span></td>
            </tr>`)}
          </tbody>
        </table>
      </div>`}`;

  const sourceRow = (item) => {
    const o = state.open[item.source_prediction_id];
    if (!o) return '';
    return html`<tr class="detail"><td colspan="7">
      ${o.loading ? loading('Loading the prediction') : o.error ? errorBox(o.error) : html`
        Predicted <strong>${o.p.label}</strong> (${fmtPercent(o.p.confidence)}) on
        <a href="#/deployments/${o.p.deployment_id}">its deployment</a> ${fmtAgo(o.p.created_at)} ·
        ${statusBadge(o.p.status)} ${reviewText(o.p)}`}
    </td></tr>`;
  };

  const itemRow = (item) => html`
    <tr data-item=${item.id}>
      <td class="num">${fmtNumber(item.seq)}</td>
      <td>${thumbs.get(item.source_prediction_id)
        ? html`<img class="thumb" src=${thumbs.get(item.source_prediction_id)} alt="Item ${item.seq}">`
        : html`<code>${item.content_type}</code>`}</td>
      <td><strong>${item.label}</strong></td>
      <td>${item.split}</td>
      <td class="num">${fmtBytes(item.asset_size)}</td>
      <td>${item.source_prediction_id
        ? html`<button class="link" aria-expanded=${state.open[item.source_prediction_id] ? 'true' : 'false'}
                 @click=${() => toggleSource(item.source_prediction_id)}>prediction ${item.source_prediction_id}</button>`
        : html`<span class="muted">added by ${fmtActor(item.created_by)}</span>`}</td>
      <td title=${fmtTime(item.created_at)}>${fmtAgo(item.created_at)}</td>
    </tr>
    ${item.source_prediction_id ? sourceRow(item) : ''}`;

  const versionView = ({ dataset, version: v }) => html`
    <p class="crumbs"><a href="#/datasets">Datasets</a> / <a href="#/datasets/${dataset.id}">${dataset.name}</a> /</p>
    <div class="page-head">
      <h1>${dataset.name} / ${v.name}</h1>
      ${canExport ? html`<button class="primary" @click=${download} ?disabled=${state.exporting}>
        ${state.exporting ? 'Preparing the export…' : 'Download export (.zip)'}</button>` : ''}
    </div>
    ${state.notice ? html`<div class=${state.notice.ok ? 'notice' : 'error'} role="status">${state.notice.text}</div>` : ''}
    <div class="tiles">
      <div class="tile" data-stat="items"><span class="tile-value">${fmtNumber(v.item_count)}</span><span class="tile-label">items</span></div>
      <div class="tile"><span class="tile-value">${fmtNumber(v.train_count)}</span><span class="tile-label">train</span></div>
      <div class="tile"><span class="tile-value">${fmtNumber(v.validation_count)}</span><span class="tile-label">validation (${fmtPercent(v.validation_fraction)} of unsplit items)</span></div>
      <div class="tile"><span class="tile-value">${fmtNumber(v.high_water_mark)}</span><span class="tile-label">high-water mark</span></div>
    </div>
    <p class="muted">Labels: ${v.labels ? v.labels.join(', ') : 'any'} · <code>${v.id}</code></p>
    ${canExport ? addItemForm(v) : ''}
    <form class="filters" @submit=${applyFilter} aria-label="Filter items">
      <label for="i-split">Split
        <select id="i-split" name="split" .value=${state.filter.split}>
          <option value="">any</option><option value="train">train</option><option value="validation">validation</option>
        </select>
      </label>
      <label for="i-label">Label
        ${v.labels ? html`<select id="i-label" name="label" .value=${state.filter.label}>
            <option value="">any</option>${v.labels.map((l) => html`<option value=${l}>${l}</option>`)}</select>`
          : html`<input id="i-label" name="label" .value=${state.filter.label} placeholder="any">`}
      </label>
      <button type="submit">Filter</button>
    </form>
    ${state.itemsError ? errorBox(state.itemsError, () => loadItems())
      : state.items === null ? loading('Loading items')
      : state.items.length === 0 ? empty('No items match.')
      : html`
        <div class="table-wrap">
          <table class="items">
            <thead><tr><th scope="col" class="num">#</th><th scope="col">Content</th><th scope="col">Label</th><th scope="col">Split</th>
              <th scope="col" class="num">Size</th><th scope="col">Provenance</th><th scope="col">Added</th></tr></thead>
            <tbody>${state.items.map(itemRow)}</tbody>
          </table>
        </div>
        ${state.cursor ? html`<button @click=${() => loadItems(true)}>More items</button>` : ''}`}`;

  const view = () => {
    if (state.error) return errorBox(state.error, load);
    if (state.data === null) return loading(versionId ? 'Loading the dataset version' : datasetId ? 'Loading the dataset' : 'Loading datasets');
    return versionId ? versionView(state.data) : datasetId ? datasetView(state.data) : listView(state.data);
  };

  render(view(), el);
  load();
  return () => {
    gone = true;
    for (const url of thumbs.values()) if (url) URL.revokeObjectURL(url);
  };
}
