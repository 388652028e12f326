// Training runs, like a Jenkins build history: a deployment's runs (#/deployments/{d}/runs), every deployment's
// recent runs (#/runs), and one run with its console streaming live while it runs (#/runs/{r}).
import { html, render } from 'lit-html';
import { api } from '../api.js';
import { joinCommandLine } from '../components/cmdline.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { datasetVersionLink, datasetVersionName, maybeModelVersion, versionLink } from '../components/lookup.js';
import { fmtActor, fmtAgo, fmtBetween, fmtNumber, fmtPercent, fmtPrecise, fmtTime, fmtValue } from '../format.js';

const enc = encodeURIComponent;
const IN_FLIGHT = ['QUEUED', 'PROVISIONING', 'RUNNING'];
export const inFlight = (run) => !!run && IN_FLIGHT.includes(run.status);

export const runStatus = (s) => html`<span class="run-status run-${s.toLowerCase()}" data-status=${s}>${s.toLowerCase()}</span>`;

/** A metric such as val_accuracy, shown as a share when it is one. */
const metric = (v) => (typeof v === 'number' && v >= 0 && v <= 1 && !Number.isInteger(v) ? fmtPercent(v) : fmtPrecise(v));

/** "91.2% (base 88.0%)", the val_accuracy against the base version's. */
export const accuracyVsBase = (run) => {
  const m = run.metrics || {};
  if (m.val_accuracy === undefined) return html`<span class="muted">—</span>`;
  const base = m.base_val_accuracy;
  const delta = typeof base === 'number' ? m.val_accuracy - base : null;
  return html`${metric(m.val_accuracy)}${typeof base === 'number' ? html`
    <span class=${delta > 0 ? 'up' : delta < 0 ? 'down' : 'muted'}>(base ${metric(base)})</span>` : ''}`;
};

const triggerText = (t) => (t ? html`<span class="trigger-type">${t.type}</span> <span class="muted">${t.reason || ''}</span>` : '—');

export const runDuration = (r) => (r.started_at ? fmtBetween(r.started_at, r.finished_at) : '—');

/** The run-history table; withDeployment adds a column naming each run's deployment. */
export const runTable = (runs, names = null) => html`
  <div class="table-wrap">
    <table class="runs">
      <thead><tr>
        <th scope="col" class="num">#</th><th scope="col">Run</th>${names ? html`<th scope="col">Deployment</th>` : ''}
        <th scope="col">Status</th><th scope="col">Trigger</th><th scope="col">Started</th>
        <th scope="col" class="num">Duration</th><th scope="col">Device</th><th scope="col">val_accuracy</th>
      </tr></thead>
      <tbody>${runs.map((r) => html`
        <tr data-run=${r.id} class="run-row run-row-${r.status.toLowerCase()}">
          <td class="num">${r.number}</td>
          <th scope="row"><a href="#/runs/${r.id}">${r.name}</a></th>
          ${names ? html`<td><a href="#/deployments/${r.deployment_id}">${names[r.deployment_id] || r.deployment_id}</a></td>` : ''}
          <td data-col="status">${runStatus(r.status)}</td>
          <td class="trigger-cell">${triggerText(r.trigger)}</td>
          <td class="nowrap" title=${fmtTime(r.started_at || r.created_at)}>${fmtAgo(r.started_at || r.created_at)}</td>
          <td class="num nowrap">${runDuration(r)}</td>
          <td>${r.device || (r.gpu_type ? html`<span class="muted">${r.gpu_type} requested</span>` : html`<span class="muted">—</span>`)}</td>
          <td class="nowrap">${accuracyVsBase(r)}</td>
        </tr>`)}
      </tbody>
    </table>
  </div>`;

/** Starts a run by hand; resolves to the run. */
export const startRun = (deploymentId) => api(`/api/deployments/${enc(deploymentId)}/training-runs`,
  { method: 'POST', json: { reason: 'started from the web UI' } });

/** #/deployments/{d}/runs: one deployment's history. */
export function mountHistory(el, { me, navigate }, deploymentId) {
  const canEdit = me.role === 'admin' || me.role === 'engineer';
  let state = { d: null, runs: null, cursor: null, error: null, notice: null, busy: false };
  let gone = false;
  let timer = null;

  const update = (patch) => {
    state = { ...state, ...patch };
    if (!gone) render(view(), el);
  };

  const load = async () => {
    try {
      const [d, page] = await Promise.all([
        state.d ? Promise.resolve(state.d) : api(`/api/deployments/${enc(deploymentId)}`),
        api(`/api/deployments/${enc(deploymentId)}/training-runs?limit=50`)]);
      // Runs fetched with "More" stay; the first page is refreshed.
      const older = (state.runs || []).filter((r) => !page.items.some((x) => x.id === r.id) && r.number < (page.items.at(-1)?.number ?? 0));
      update({ d, runs: [...page.items, ...older], cursor: state.runs && older.length ? state.cursor : page.next_cursor, error: null });
    } catch (e) {
      update({ error: e });
    }
    if (!gone) timer = setTimeout(load, (state.runs || []).some(inFlight) ? 1500 : 5000);
  };

  const more = async () => {
    try {
      const page = await api(`/api/deployments/${enc(deploymentId)}/training-runs?limit=50&cursor=${enc(state.cursor)}`);
      update({ runs: [...state.runs, ...page.items], cursor: page.next_cursor });
    } catch (e) {
      update({ notice: { ok: false, text: e.message } });
    }
  };

  const start = async () => {
    update({ busy: true, notice: null });
    try {
      const run = await startRun(deploymentId);
      navigate(`#/runs/${run.id}`);
    } catch (e) {
      update({ busy: false, notice: { ok: false, text: e.message } });
    }
  };

  const view = () => {
    if (state.error && !state.runs) return html`<p><a href="#/deployments/${deploymentId}">← Deployment</a></p>${errorBox(state.error, load)}`;
    if (state.runs === null) return loading('Loading training runs');
    return html`
      <p class="crumbs"><a href="#/deployments">Deployments</a> / <a href="#/deployments/${deploymentId}">${state.d.name}</a> /</p>
      <div class="page-head">
        <h1>Training runs</h1>
        ${canEdit ? html`<button class="primary" data-action="start-run" ?disabled=${state.busy || state.runs.some(inFlight)}
            title=${state.runs.some(inFlight) ? 'A run is in flight' : ''} @click=${start}>Start a run</button>` : ''}
      </div>
      ${state.notice ? html`<div class=${state.notice.ok ? 'notice' : 'error'} role="status">${state.notice.text}</div>` : ''}
      ${state.error ? errorBox(state.error) : ''}
      ${state.runs.length === 0 ? empty('No training runs yet. They start when a trigger fires, or by hand.') : html`
        <div aria-live="polite">${runTable(state.runs)}</div>
        ${state.cursor ? html`<button @click=${more}>Older runs</button>` : ''}`}`;
  };

  render(view(), el);
  load();
  return () => {
    gone = true;
    clearTimeout(timer);
  };
}

/** #/runs: the recent runs of every deployment. */
function mountAll(el) {
  let state = { runs: null, names: {}, error: null };
  let gone = false;
  const update = (patch) => {
    state = { ...state, ...patch };
    if (!gone) render(view(), el);
  };
  const load = async () => {
    try {
      const deployments = (await api('/api/deployments?limit=500')).items;
      const pages = await Promise.all(deployments.map((d) => api(`/api/deployments/${enc(d.id)}/training-runs?limit=20`)));
      const runs = pages.flatMap((p) => p.items).sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 100);
      update({ runs, names: Object.fromEntries(deployments.map((d) => [d.id, d.name])), error: null });
    } catch (e) {
      update({ error: e });
    }
  };
  const view = () => html`
    <div class="page-head"><h1>Training runs</h1></div>
    ${state.error ? errorBox(state.error, load)
      : state.runs === null ? loading('Loading training runs')
      : state.runs.length === 0 ? empty('No training runs yet.')
      : runTable(state.runs, state.names)}`;
  render(view(), el);
  load();
  return () => { gone = true; };
}

/** #/runs/{r}: one run, its lineage and its console. */
export function mount(el, ctx) {
  if (!ctx.params.length) return mountAll(el);
  const runId = ctx.params[0];
  const canEdit = ctx.me.role === 'admin' || ctx.me.role === 'engineer';
  let state = {
    run: null, d: null, base: null, result: null, datasets: [], error: null, notice: null, busy: false,
    log: '', next: 0, complete: false, logError: null,
  };
  let gone = false;
  let runTimer = null;
  let logTimer = null;
  let stick = true; // follow the end of the log unless the user scrolled up

  const update = (patch) => {
    state = { ...state, ...patch };
    if (gone) return;
    const console = el.querySelector('#run-log');
    const wasAtEnd = console ? console.scrollTop + console.clientHeight >= console.scrollHeight - 8 : true;
    render(view(), el);
    const now = el.querySelector('#run-log');
    if (now && stick && wasAtEnd) now.scrollTop = now.scrollHeight;
  };

  const loadRun = async () => {
    try {
      const run = await api(`/api/training-runs/${enc(runId)}`);
      const lookups = {};
      if (!state.d) lookups.d = api(`/api/deployments/${enc(run.deployment_id)}`).catch(() => null);
      if (!state.base) lookups.base = maybeModelVersion(run.base_model_version_id);
      if (run.result_model_version_id && !state.result) lookups.result = maybeModelVersion(run.result_model_version_id);
      if (!state.datasets.length && run.dataset_versions.length) {
        lookups.datasets = Promise.all(run.dataset_versions.map((s) => datasetVersionName(s.dataset_version_id)
          .then((dv) => ({ ...dv, hwm: s.high_water_mark }))
          .catch(() => ({ id: s.dataset_version_id, missing: true, hwm: s.high_water_mark }))));
      }
      const keys = Object.keys(lookups);
      const values = await Promise.all(Object.values(lookups));
      const patch = { run, error: null };
      keys.forEach((k, i) => { patch[k] = values[i]; });
      update(patch);
    } catch (e) {
      update({ error: e });
    }
    if (!gone && (state.run === null || inFlight(state.run))) runTimer = setTimeout(loadRun, 1000);
  };

  const loadLog = async () => {
    try {
      const chunk = await api(`/api/training-runs/${enc(runId)}/log?from=${state.next}`);
      const patch = { next: chunk.next, complete: chunk.complete, logError: null };
      if (chunk.text) patch.log = state.log + chunk.text;
      update(patch);
      // The run's status follows the log's end, so the page never says "running" under a finished console.
      if (chunk.complete && inFlight(state.run)) loadRun();
      if (chunk.complete && !chunk.text) return;
    } catch (e) {
      update({ logError: e });
    }
    if (!gone) logTimer = setTimeout(loadLog, state.complete ? 0 : 1000);
  };

  const cancel = async () => {
    update({ busy: true, notice: null });
    try {
      const run = await api(`/api/training-runs/${enc(runId)}/cancel`, { method: 'POST' });
      update({ run, notice: { ok: true, text: 'Cancellation requested.' } });
    } catch (e) {
      update({ notice: { ok: false, text: e.message } });
    }
    update({ busy: false });
  };

  const onScroll = (e) => {
    const c = e.target;
    stick = c.scrollTop + c.clientHeight >= c.scrollHeight - 8;
  };

  const evidence = (ev) => (!ev || Object.keys(ev).length === 0 ? html`<span class="muted">none</span>` : html`
    <table class="evidence"><tbody>${Object.entries(ev).map(([k, v]) => html`
      <tr><th scope="row"><code>${k}</code></th><td class="num">${fmtPrecise(v)}</td></tr>`)}</tbody></table>`);

  const view = () => {
    if (state.error && !state.run) return html`<p><a href="#/runs">← Training runs</a></p>${errorBox(state.error, loadRun)}`;
    if (state.run === null) return loading('Loading the training run');
    const r = state.run;
    const dName = state.d ? state.d.name : r.deployment_id;
    return html`
      <p class="crumbs"><a href="#/deployments">Deployments</a> / <a href="#/deployments/${r.deployment_id}">${dName}</a> /
        <a href="#/deployments/${r.deployment_id}/runs">Training runs</a> /</p>
      <div class="page-head">
        <h1>${r.name} <span class="muted">#${r.number}</span></h1>
        <div class="row">
          <span aria-live="polite" data-run-status>${runStatus(r.status)}</span>
          ${canEdit && inFlight(r) ? html`<button class="danger" data-action="cancel-run" ?disabled=${state.busy} @click=${cancel}>Cancel run</button>` : ''}
        </div>
      </div>
      ${state.notice ? html`<div class=${state.notice.ok ? 'notice' : 'error'} role="status">${state.notice.text}</div>` : ''}
      ${r.message ? html`<div class=${r.status === 'FAILED' ? 'error' : 'notice'} data-run-message>${r.message}</div>` : ''}
      <div class="columns">
        <div class="col">
          <section class="card" aria-labelledby="run-h" data-panel="run">
            <h2 id="run-h">Run</h2>
            <dl class="facts">
              <dt>Trigger</dt><dd>${triggerText(r.trigger)}</dd>
              <dt>Created</dt><dd title=${fmtTime(r.created_at)}>${fmtAgo(r.created_at)} by ${fmtActor(r.created_by)}</dd>
              <dt>Started</dt><dd>${fmtTime(r.started_at)}</dd>
              <dt>Finished</dt><dd>${fmtTime(r.finished_at)}</dd>
              <dt>Duration</dt><dd>${runDuration(r)}</dd>
              <dt>Provisioner</dt><dd><code>${r.provisioner}</code>${r.attempts > 1 ? html` <span class="muted">(${r.attempts} attempts)</span>` : ''}</dd>
              <dt>GPU type</dt><dd>${r.gpu_type || html`<span class="muted">CPU</span>`}</dd>
              <dt>Device</dt><dd>${r.device || html`<span class="muted">not known yet</span>`}</dd>
              <dt>Trainer</dt><dd>${r.trainer.type === 'command' ? html`<code class="cmd">${joinCommandLine(r.trainer.command)}</code>` : 'built-in'}
                ${r.trainer.params && Object.keys(r.trainer.params).length ? html`<div class="muted">params <code>${JSON.stringify(r.trainer.params)}</code></div>` : ''}</dd>
            </dl>
            ${r.trigger && r.trigger.evidence && Object.keys(r.trigger.evidence).length ? html`
              <details><summary>Trigger evidence</summary>${evidence(r.trigger.evidence)}</details>` : ''}
          </section>
        </div>
        <div class="col">
          <section class="card" aria-labelledby="lineage-h" data-panel="run-lineage">
            <h2 id="lineage-h">Lineage</h2>
            <dl class="facts">
              <dt>Base version</dt><dd data-base>${versionLink(state.base)}</dd>
              <dt>Result version</dt><dd data-result>${r.result_model_version_id ? versionLink(state.result) : html`<span class="muted">${inFlight(r) ? 'not yet' : 'none'}</span>`}</dd>
              <dt>Datasets</dt>
              <dd>${state.datasets.length === 0 ? html`<span class="muted">none</span>` : html`
                <ul class="plain">${state.datasets.map((dv) => html`
                  <li>${dv.missing ? html`<code>${dv.id}</code>` : datasetVersionLink(dv)}
                    <span class="muted">up to item ${fmtNumber(dv.hwm)}</span></li>`)}</ul>`}</dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="metrics-h" data-panel="metrics">
            <h2 id="metrics-h">Metrics</h2>
            ${!r.metrics || Object.keys(r.metrics).length === 0 ? html`<p class="muted">${inFlight(r) ? 'Metrics come when the run ends.' : 'The trainer reported no metrics.'}</p>` : html`
              <table class="evidence"><tbody>${Object.entries(r.metrics).map(([k, v]) => html`
                <tr><th scope="row"><code>${k}</code></th><td class="num">${metric(v)}</td></tr>`)}</tbody></table>`}
          </section>
        </div>
      </div>
      <section aria-labelledby="log-h" class="console-section">
        <div class="page-head">
          <h2 id="log-h">Console</h2>
          <span class="muted" aria-live="polite">${state.complete ? 'complete' : html`<span class="live-dot" aria-hidden="true"></span> streaming`}</span>
        </div>
        ${state.logError ? errorBox(state.logError) : ''}
        <pre id="run-log" class="console" role="log" aria-live="polite" aria-label="Console log" tabindex="0"
             @scroll=${onScroll}>${state.log || (state.complete ? '(no output)' : 'Waiting for output…')}</pre>
      </section>`;
  };

  render(view(), el);
  loadRun();
  loadLog();
  return () => {
    gone = true;
    clearTimeout(runTimer);
    clearTimeout(logTimer);
  };
}
