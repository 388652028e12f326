// Datasets (#/datasets), a dataset's versions (#/datasets/{ds}) and one version's items with its export
// (#/datasets/{ds}/{dv}).
import { html, render } from 'lit-html';
import { api, apiBlob, saveBlob } from '../api.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { fmtActor, fmtAgo, fmtBytes, fmtNumber, fmtPercent, fmtTime } from '../format.js';
import { reviewText, statusBadge } from './deployment.js';

const enc = encodeURIComponent;
const PAGE = 50;

export function mount(el, { me, params }) {
  const [datasetId, versionId] = params;
  const canExport = me.role === 'admin' || me.role === 'engineer';
  let state = {
    data: null, error: null, items: null, cursor: null, itemsError: null, filter: { split: '', label: '' },
    open: {}, exporting: false, notice: null,
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
    ${datasets.length === 0 ? empty('No datasets yet. Create one with POST /api/datasets.') : html`
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
    ${versions.length === 0 ? empty('No versions yet: create one with POST /api/datasets/{ds}/versions.') : html`
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
