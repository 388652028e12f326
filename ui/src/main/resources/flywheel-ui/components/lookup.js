// Names for ids: pages show "iris v3" rather than mv_…, and link to the thing. Model versions never change, so
// what is fetched about them is kept for the session; dataset versions grow, so only their names are reused.
import { html } from 'lit-html';
import { api } from '../api.js';

const cache = new Map();

function once(key, load) {
  if (!cache.has(key)) {
    cache.set(key, load().catch((e) => {
      cache.delete(key);
      throw e;
    }));
  }
  return cache.get(key);
}

const enc = encodeURIComponent;

/** A model version with its model's name: {id, model_id, model_name, version, labels, metadata}. */
export function modelVersion(id) {
  return once(`mv:${id}`, async () => {
    const v = await api(`/api/model-versions/${enc(id)}`);
    const m = await api(`/api/models/${enc(v.model_id)}`);
    return { ...v, model_name: m.name, labels: (v.metadata && v.metadata.labels) || [] };
  });
}

/** Like modelVersion, but null (not an error) for no id or one that cannot be read. */
export async function maybeModelVersion(id) {
  if (!id) return null;
  try {
    return await modelVersion(id);
  } catch (e) {
    return { id, model_id: null, model_name: id, version: null, labels: [] };
  }
}

/** A dataset version with its dataset's name: {…version, dataset_name}. */
export function datasetVersionName(id) {
  return once(`dv:${id}`, async () => {
    const v = await api(`/api/dataset-versions/${enc(id)}`);
    const d = await api(`/api/datasets/${enc(v.dataset_id)}`);
    return { id, name: v.name, dataset_id: v.dataset_id, dataset_name: d.name };
  });
}

/** Every dataset with its versions, for pickers: [{dataset, versions: [...]}]. */
export async function datasetCatalog() {
  const datasets = (await api('/api/datasets?limit=500')).items;
  const versions = await Promise.all(datasets.map((d) => api(`/api/datasets/${enc(d.id)}/versions?limit=500`)));
  return datasets.map((dataset, i) => ({ dataset, versions: versions[i].items }));
}

/** A <select> of dataset versions grouped by dataset. */
export const datasetVersionSelect = (id, catalog, exclude = [], selected = null) => html`
  <select id=${id} name="dataset_version_id" required>
    <option value="">Choose a dataset version…</option>
    ${catalog.map(({ dataset, versions }) => html`
      <optgroup label=${dataset.name}>
        ${versions.filter((v) => !exclude.includes(v.id)).map((v) => html`
          <option value=${v.id} ?selected=${v.id === selected}>${dataset.name} / ${v.name}</option>`)}
      </optgroup>`)}
  </select>`;

export const versionLabel = (v) => (v.version === null ? v.model_name : `${v.model_name} v${v.version}`);

/** "iris v3", linked to the version's page. */
export const versionLink = (v) => (v
  ? (v.model_id ? html`<a href="#/models/${v.model_id}/${v.id}">${versionLabel(v)}</a>` : html`<code>${v.id}</code>`)
  : html`<span class="muted">none</span>`);

export const datasetVersionLink = (dv) => html`
  <a href="#/datasets/${dv.dataset_id}/${dv.id}">${dv.dataset_name} / ${dv.name}</a>`;

/** The started plugins' extensions by extension point: {retraining_trigger: [{type, display_name, config_schema…}], …}. */
export async function extensionsByPoint() {
  const all = await api('/api/extensions');
  return {
    retraining_trigger: all.retraining_trigger || [],
    promotion_policy: all.promotion_policy || [],
    gpu_provisioner: all.gpu_provisioner || [],
    model_runtime: all.model_runtime || [],
  };
}

/** The config schema of an extension of that type among those given, or null when it is not installed. */
export const schemaOf = (extensions, type) => {
  const x = extensions.find((e) => e.type === type);
  return x ? x.config_schema : null;
};
