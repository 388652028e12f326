// The reviewer's workbench: one prediction at a time, keyboard first. Decisions are held for a few seconds, so
// `u` can take the newest back, then sent in bulk (POST /api/deployments/{d}/reviews).
import { html, render } from 'lit-html';
import { api, apiBlob } from '../api.js';
import { empty, errorBox, loading } from '../components/feedback.js';
import { modelVersion, versionLink } from '../components/lookup.js';
import { fmtAgo, fmtNumber, fmtPercent, fmtTime, fmtValue } from '../format.js';

/** A decision waits this long before it is sent; `u` takes it back meanwhile. */
export const DELAY_MS = 4000;
/** …unless the reviewer is more than this many decisions further on: then the oldest go at once. */
const MAX_UNSENT = 3;
const QUEUE_PAGE = 50;
const MAX_QUEUE = 200;
const LAST_KEY = 'flywheel.review.deployment';
const REVIEWERS = ['reviewer', 'engineer', 'admin'];
const REASONS = { flagged: 'Flagged', low_confidence: 'Low confidence', disagreement: 'Shadow disagrees', sampled: 'Sampled' };
const PAST = { accept: 'Accepted', correct: 'Corrected', reject: 'Rejected' };

const enc = encodeURIComponent;

/** What the shadow model made of the prediction's input, as a line for people; null when no shadow ran. */
const shadowOf = (p) => {
  const sh = p.shadow;
  if (!sh) return null;
  if (sh.status === 'ok') return { label: sh.label, confidence: sh.confidence, disagrees: sh.label !== p.label };
  return { note: sh.status === 'pending' ? 'still running' : sh.status === 'skipped' ? 'skipped (its queue was full)' : `failed${sh.error ? `: ${sh.error}` : ''}` };
};

export function mount(el, { me, params }) {
  const canReview = REVIEWERS.includes(me.role);
  let s = {
    deployments: null, dep: null, items: null, index: 0, counts: null, unsent: [], sending: 0, sent: 0,
    message: null, error: null, flagging: false, loadingMore: false, exhausted: false, labels: {},
  };
  const decisions = new Map(); // prediction id → { action, label, state: unsent | sending | sent | conflict | failed, message }
  const inputs = new Map(); // prediction id → { status, kind, url, features, text, error }
  let gone = false;
  let focused = null;

  const rerender = () => {
    if (gone) return;
    render(view(), el);
    const item = current();
    const id = item ? item.prediction.id : 'end';
    if (id !== focused && !s.flagging) {
      focused = id;
      const target = el.querySelector('#review-item');
      if (target) target.focus({ preventScroll: true });
    }
  };
  const say = (kind, text) => {
    s.message = { kind, text };
    rerender();
  };

  const current = () => (s.items && s.index < s.items.length ? s.items[s.index] : null);

  // ---- loading -------------------------------------------------------------------------------------------------

  const start = async () => {
    try {
      s.deployments = (await api('/api/deployments?limit=500')).items;
    } catch (e) {
      s.error = e;
      rerender();
      return;
    }
    const wanted = params[0] || localStorage.getItem(LAST_KEY);
    const dep = s.deployments.find((d) => d.id === wanted) || s.deployments[0];
    if (dep) choose(dep.id);
    else rerender();
  };

  const choose = async (id) => {
    flushAll();
    for (const i of inputs.values()) if (i.url) URL.revokeObjectURL(i.url);
    inputs.clear();
    decisions.clear();
    s = { ...s, dep: s.deployments.find((d) => d.id === id), items: null, index: 0, counts: null, exhausted: false, message: null, error: null };
    localStorage.setItem(LAST_KEY, id);
    history.replaceState(null, '', `#/review/${enc(id)}`);
    rerender();
    await loadQueue(false);
  };

  const loadQueue = async (append) => {
    const dep = s.dep;
    s.loadingMore = true;
    try {
      // The queue is a worklist without paging: ask for enough to get past what this page already holds.
      const known = new Set(append ? s.items.map((i) => i.prediction.id) : []);
      const limit = Math.min(MAX_QUEUE, known.size + QUEUE_PAGE);
      const q = await api(`/api/deployments/${enc(dep.id)}/review-queue?limit=${limit}`);
      if (dep !== s.dep) return;
      const fresh = q.items.filter((i) => !known.has(i.prediction.id) && !decisions.has(i.prediction.id));
      s.items = append ? [...s.items, ...fresh] : fresh;
      s.counts = { to_review: q.to_review, anomalies: q.anomalies };
      s.exhausted = fresh.length === 0 || q.items.length < limit;
      s.error = null;
    } catch (e) {
      if (dep === s.dep) s.error = e;
    } finally {
      s.loadingMore = false;
    }
    prepare();
  };

  const refreshCounts = async () => {
    const dep = s.dep;
    try {
      const stats = await api(`/api/deployments/${enc(dep.id)}/review-stats`);
      if (dep === s.dep) s.counts = { to_review: stats.to_review, anomalies: stats.anomalies };
      rerender();
    } catch (e) {
      // the counts stay as they were; the next batch tries again
    }
  };

  /** Fetches what the items around the current one need (inputs, labels) and drops what is far behind. */
  const prepare = () => {
    if (!s.items) return rerender();
    s.items.forEach((item, i) => {
      const p = item.prediction;
      if (i >= s.index - 1 && i <= s.index + 2) {
        loadInput(p);
        loadLabels(p);
      } else if (Math.abs(i - s.index) > 20 && inputs.has(p.id)) {
        const input = inputs.get(p.id);
        if (input.url) URL.revokeObjectURL(input.url);
        inputs.delete(p.id);
      }
    });
    if (!s.loadingMore && !s.exhausted && s.index >= s.items.length - 3) loadQueue(true);
    rerender();
  };

  const loadInput = (p) => {
    if (inputs.has(p.id)) return;
    inputs.set(p.id, { status: 'loading' });
    apiBlob(`/api/predictions/${enc(p.id)}/input`).then(async (blob) => {
      if (blob.type.startsWith('image/')) {
        inputs.set(p.id, { status: 'ready', kind: 'image', url: URL.createObjectURL(blob) });
      } else {
        const text = await blob.text();
        let features = null;
        try {
          const json = JSON.parse(text);
          if (Array.isArray(json.features)) features = json.features;
        } catch (e) {
          features = null;
        }
        inputs.set(p.id, features ? { status: 'ready', kind: 'features', features } : { status: 'ready', kind: 'other', text: text.slice(0, 2000) });
      }
      rerender();
    }).catch((error) => {
      inputs.set(p.id, { status: 'error', error });
      rerender();
    });
  };

  const versionOf = (p) => p.model_version_id || s.dep.primary_model_version_id;

  const loadLabels = (p) => {
    const v = versionOf(p);
    if (s.labels[v]) return;
    s.labels[v] = { loading: true, labels: [] };
    modelVersion(v).then((mv) => {
      s.labels = { ...s.labels, [v]: { version: mv, labels: mv.labels } };
      rerender();
    }).catch((error) => {
      s.labels = { ...s.labels, [v]: { error, labels: [] } };
      rerender();
    });
  };

  // ---- deciding and sending ----------------------------------------------------------------------------------

  const move = (by) => {
    if (!s.items) return;
    s.index = Math.max(0, Math.min(s.items.length, s.index + by));
    s.flagging = false;
    if (s.index === s.items.length && s.exhausted && !s.loadingMore) loadQueue(true);
    prepare();
  };

  const decide = (action, label) => {
    const item = current();
    if (!canReview || !item) return;
    const p = item.prediction;
    const known = decisions.get(p.id);
    if (known && known.state !== 'unsent' && known.state !== 'failed') {
      say('warn', 'This decision is already sent and can no longer be changed here.');
      return;
    }
    if (action === 'correct' && label === p.label) action = 'accept';
    const entry = { id: p.id, dep: s.dep.id, action, label: action === 'correct' ? label : undefined, due: Date.now() + DELAY_MS };
    s.unsent = [...s.unsent.filter((a) => a.id !== p.id), entry];
    decisions.set(p.id, { action, label: action === 'reject' ? null : (label || p.label), state: 'unsent' });
    s.message = null;
    move(1);
  };

  const undo = () => {
    if (!canReview) return;
    const last = s.unsent[s.unsent.length - 1];
    if (!last) {
      say('warn', s.sending ? 'Too late to undo: the last decisions are being sent.' : 'Nothing to undo.');
      return;
    }
    s.unsent = s.unsent.slice(0, -1);
    decisions.delete(last.id);
    const i = s.items.findIndex((it) => it.prediction.id === last.id);
    if (i >= 0) s.index = i;
    s.message = { kind: 'ok', text: `Undone: ${PAST[last.action].toLowerCase()}${last.label ? ` as ${last.label}` : ''}. Decide again.` };
    s.flagging = false;
    prepare();
  };

  const tick = () => {
    if (s.unsent.length === 0) return;
    const now = Date.now();
    const excess = s.unsent.length - MAX_UNSENT;
    const batch = s.unsent.filter((a, i) => i < excess || a.due <= now);
    if (batch.length) {
      s.unsent = s.unsent.filter((a) => !batch.includes(a));
      send(batch);
    }
    rerender(); // the countdowns
  };

  const flushAll = (keepalive = false) => {
    if (s.unsent.length === 0) return;
    const batch = s.unsent;
    s.unsent = [];
    send(batch, keepalive);
  };

  const send = async (batch, keepalive = false) => {
    const byDeployment = new Map();
    for (const a of batch) byDeployment.set(a.dep, [...(byDeployment.get(a.dep) || []), a]);
    for (const [dep, actions] of byDeployment) {
      s.sending += actions.length;
      for (const a of actions) if (decisions.has(a.id)) decisions.get(a.id).state = 'sending';
      rerender();
      try {
        const reviews = actions.map((a) => (a.label ? { prediction_id: a.id, action: a.action, label: a.label } : { prediction_id: a.id, action: a.action }));
        const result = await api(`/api/deployments/${enc(dep)}/reviews`, { method: 'POST', json: { reviews }, keepalive });
        let conflicts = 0;
        const failures = [];
        for (const r of result.results) {
          const d = decisions.get(r.prediction_id) || {};
          if (r.outcome === 'reviewed') {
            d.state = 'sent';
            s.sent += 1;
          } else if (r.outcome === 'already_reviewed') {
            d.state = 'conflict';
            d.message = 'Someone else reviewed this prediction first; your decision was not recorded.';
            conflicts += 1;
          } else {
            d.state = 'failed';
            d.message = r.message || r.outcome;
            failures.push(r.message || r.outcome);
          }
        }
        if (failures.length) say('error', `${failures.length} decision${failures.length > 1 ? 's were' : ' was'} refused: ${failures.join('; ')}`);
        else if (conflicts) say('warn', `${conflicts} prediction${conflicts > 1 ? 's were' : ' was'} already reviewed by someone else; your decision${conflicts > 1 ? 's were' : ' was'} skipped.`);
      } catch (e) {
        const retry = e.status === 0 || e.status >= 500;
        for (const a of actions) {
          const d = decisions.get(a.id);
          if (!d) continue;
          d.state = retry ? 'unsent' : 'failed';
          d.message = e.message;
        }
        if (retry && s.dep && s.dep.id === dep) {
          s.unsent = [...actions.map((a) => ({ ...a, due: Date.now() + 2 * DELAY_MS })), ...s.unsent];
        }
        say('error', `${retry ? 'Not sent yet, will retry' : 'Not sent'}: ${e.message}`);
      } finally {
        s.sending -= actions.length;
      }
      if (s.dep && s.dep.id === dep) refreshCounts();
    }
  };

  // ---- flagging ------------------------------------------------------------------------------------------------

  const startFlag = () => {
    if (!canReview || !current()) return;
    s.flagging = true;
    rerender();
    const input = el.querySelector('#flag-reason');
    if (input) input.focus();
  };

  const endFlag = () => {
    s.flagging = false;
    focused = null;
    rerender();
  };

  const submitFlag = async (e) => {
    e.preventDefault();
    const item = current();
    const reason = new FormData(e.target).get('reason').trim();
    if (!item || !reason) return;
    try {
      item.prediction = await api(`/api/predictions/${enc(item.prediction.id)}/flag`, { method: 'POST', json: { reason } });
      item.reasons = [{ kind: 'flagged', detail: reason }, ...item.reasons.filter((r) => r.kind !== 'flagged' && r.kind !== 'sampled')];
      s.message = { kind: 'ok', text: 'Flagged: it stays at the head of the queue.' };
    } catch (err) {
      s.message = { kind: err.status === 409 ? 'warn' : 'error', text: err.status === 409 ? 'Someone else already reviewed this prediction.' : err.message };
    }
    endFlag();
    refreshCounts();
  };

  // ---- keyboard ------------------------------------------------------------------------------------------------

  const onKey = (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || s.flagging) return;
    if (e.target instanceof Element && e.target.closest('input, select, textarea, [contenteditable]')) return;
    const item = current();
    const labels = item ? (s.labels[versionOf(item.prediction)] || { labels: [] }).labels : [];
    if (e.key === 'j' || e.key === 'ArrowRight') move(1);
    else if (e.key === 'k' || e.key === 'ArrowLeft') move(-1);
    else if (e.key === 'a') decide('accept');
    else if (e.key === 'r') decide('reject');
    else if (e.key === 'f') startFlag();
    else if (e.key === 'u') undo();
    else if (/^[1-9]$/.test(e.key) && labels[Number(e.key) - 1] !== undefined) decide('correct', labels[Number(e.key) - 1]);
    else return;
    e.preventDefault();
  };

  const onUnload = () => flushAll(true);

  // ---- view ----------------------------------------------------------------------------------------------------

  const inputView = (p) => {
    const input = inputs.get(p.id);
    if (!input || input.status === 'loading') return loading('Loading the input');
    if (input.status === 'error') return errorBox(input.error);
    if (input.kind === 'image') return html`<img class="review-image" src=${input.url} alt="The input image of this prediction">`;
    if (input.kind === 'features') {
      return html`
        <table class="features">
          <caption>Features (${fmtNumber(input.features.length)})</caption>
          <thead><tr><th scope="col">#</th><th scope="col" class="num">Value</th></tr></thead>
          <tbody>${input.features.map((v, i) => html`<tr><td>${i}</td><td class="num">${fmtValue(v)}</td></tr>`)}</tbody>
        </table>`;
    }
    return html`<pre class="raw">${input.text}</pre>`;
  };

  const decisionView = (p) => {
    const d = decisions.get(p.id);
    if (!d) return '';
    const what = d.action === 'correct' ? html`Corrected to <strong>${d.label}</strong>` : d.action === 'accept' ? html`Accepted as <strong>${d.label}</strong>` : 'Rejected';
    if (d.state === 'unsent') {
      const a = s.unsent.find((x) => x.id === p.id);
      const secs = a ? Math.max(0, Math.ceil((a.due - Date.now()) / 1000)) : 0;
      const newest = s.unsent.length && s.unsent[s.unsent.length - 1].id === p.id;
      return html`<p class="decision decision-unsent">${what}. Sends in ${secs} s${newest ? html` · <kbd>u</kbd> undoes it` : ''}.</p>`;
    }
    if (d.state === 'sending') return html`<p class="decision">${what}. Sending…</p>`;
    if (d.state === 'sent') return html`<p class="decision decision-sent">${what}. Saved.</p>`;
    if (d.state === 'conflict') return html`<p class="decision decision-conflict">${d.message}</p>`;
    return html`<p class="decision decision-failed">${what}, but it was refused: ${d.message}</p>`;
  };

  const itemView = (item) => {
    const p = item.prediction;
    const lv = s.labels[versionOf(p)] || { labels: [] };
    const shadow = shadowOf(p);
    return html`
      <section id="review-item" class="card review-item" tabindex="-1" aria-labelledby="item-h"
               data-prediction=${p.id} data-label=${p.label} data-decision=${(decisions.get(p.id) || {}).state || ''}>
        <header>
          <h2 id="item-h">Prediction ${fmtNumber(s.index + 1)} of ${fmtNumber(s.items.length)}${s.exhausted ? '' : '+'}</h2>
          <span class="reasons">${item.reasons.map((r) => html`<span class="reason reason-${r.kind}" title=${r.detail}>${REASONS[r.kind] || r.kind}</span>`)}</span>
        </header>
        <ul class="why">${item.reasons.map((r) => html`<li><strong>${REASONS[r.kind] || r.kind}:</strong> ${r.detail}</li>`)}</ul>
        <div class="review-body">
          <div class="review-input">${inputView(p)}</div>
          <dl class="facts">
            <dt>Predicted</dt><dd class="predicted"><strong>${p.label}</strong> <span class="muted">${fmtPercent(p.confidence)}</span></dd>
            ${shadow ? html`<dt>Shadow</dt><dd class="shadow">${shadow.note ? html`<span class="muted">${shadow.note}</span>`
              : html`<strong class=${shadow.disagrees ? 'warn' : ''}>${shadow.label}</strong> <span class="muted">${fmtPercent(shadow.confidence)}${shadow.disagrees ? ', disagrees' : ''}</span>`}</dd>` : ''}
            <dt>Model</dt><dd>${lv.version ? versionLink(lv.version) : html`<code>${versionOf(p)}</code>`}</dd>
            <dt>When</dt><dd title=${fmtTime(p.created_at)}>${fmtAgo(p.created_at)}</dd>
            <dt>Id</dt><dd><code>${p.id}</code></dd>
          </dl>
        </div>
        ${decisionView(p)}
        ${s.flagging ? html`
          <form class="row flag-form" @submit=${submitFlag} @keydown=${(e) => { if (e.key === 'Escape') endFlag(); }}>
            <label for="flag-reason">Why should this be reviewed first?
              <input id="flag-reason" name="reason" required maxlength="500" placeholder="e.g. the image is mislabelled upstream">
            </label>
            <button type="submit" class="primary">Flag</button>
            <button type="button" @click=${endFlag}>Cancel</button>
          </form>` : ''}
      </section>`;
  };

  const endView = () => html`
    <section id="review-item" class="card review-item review-end" tabindex="-1" aria-labelledby="item-h">
      <h2 id="item-h">${s.loadingMore ? 'Looking for more…' : 'All caught up'}</h2>
      <p>${s.loadingMore ? '' : 'Nothing else is waiting in this queue right now.'}</p>
      <button @click=${() => loadQueue(true)} ?disabled=${s.loadingMore}>Check again</button>
      ${s.index > 0 ? html`<button @click=${() => move(-1)}>Back to the last one</button>` : ''}
    </section>`;

  const labelsView = (item) => {
    const p = item ? item.prediction : null;
    const lv = p ? s.labels[versionOf(p)] || { labels: [] } : { labels: [] };
    if (lv.error) return errorBox(lv.error);
    return html`
      <ol class="label-list" aria-label="The model's labels">
        ${lv.labels.map((l, i) => {
          const score = p && p.scores ? p.scores[l] : undefined;
          const body = html`<kbd>${i + 1}</kbd><span class="label-name">${l}</span>
            <span class="score" aria-label="score">${score === undefined ? '' : fmtPercent(score)}</span>
            <span class="bar" style="width:${Math.round((score || 0) * 100)}%"></span>`;
          return html`<li class=${l === (p && p.label) ? 'predicted' : ''}>${canReview
            ? html`<button type="button" data-label-index=${i + 1} @click=${() => decide('correct', l)}
                   title=${l === (p && p.label) ? 'Accept' : `Correct to ${l}`}>${body}</button>`
            : html`<div class="label-static">${body}</div>`}</li>`;
        })}
      </ol>`;
  };

  const sideView = (item) => html`
    <aside class="review-side" aria-label="Review tools">
      <section class="card">
        <h2>Labels</h2>
        ${labelsView(item)}
      </section>
      <section class="card">
        <h2>${canReview ? 'Actions' : 'Browse'}</h2>
        ${canReview ? html`
          <div class="review-actions">
            <button class="primary" @click=${() => decide('accept')} ?disabled=${!item}><kbd>a</kbd> Accept</button>
            <button class="danger" @click=${() => decide('reject')} ?disabled=${!item}><kbd>r</kbd> Reject</button>
            <button @click=${startFlag} ?disabled=${!item}><kbd>f</kbd> Flag</button>
            <button @click=${undo} ?disabled=${s.unsent.length === 0}><kbd>u</kbd> Undo</button>
          </div>` : html`<p class="hint">You can look through the queue; reviewing needs a reviewer, engineer or admin token.</p>`}
        <div class="review-nav">
          <button @click=${() => move(-1)} ?disabled=${s.index === 0}><kbd>k</kbd> Previous</button>
          <button @click=${() => move(1)} ?disabled=${!item}><kbd>j</kbd> Next</button>
        </div>
        <p class="hint">Keys: <kbd>a</kbd> accept · <kbd>r</kbd> reject · <kbd>1</kbd>–<kbd>9</kbd> correct to that label ·
          <kbd>j</kbd>/<kbd>→</kbd> next · <kbd>k</kbd>/<kbd>←</kbd> previous · <kbd>f</kbd> flag · <kbd>u</kbd> undo.
          Decisions are sent after ${DELAY_MS / 1000} s.</p>
      </section>
    </aside>`;

  const countsView = () => {
    const left = s.counts ? Math.max(0, s.counts.to_review - s.unsent.length - s.sending) : null;
    return html`
      <div class="review-counts" role="status" aria-live="polite" aria-atomic="true">
        <span data-count="to-review"><strong>${fmtNumber(left)}</strong> to review</span>
        <span data-count="anomalies"><strong>${fmtNumber(s.counts ? s.counts.anomalies : null)}</strong> ${s.counts && s.counts.anomalies === 1 ? 'anomaly' : 'anomalies'}</span>
        <span data-count="unsent"><strong>${fmtNumber(s.unsent.length + s.sending)}</strong> waiting to be sent</span>
        <span data-count="sent"><strong>${fmtNumber(s.sent)}</strong> sent this session</span>
      </div>`;
  };

  const view = () => {
    if (s.deployments === null) return s.error ? errorBox(s.error, start) : loading('Loading deployments');
    if (s.deployments.length === 0) return html`<div class="page-head"><h1>Review</h1></div>${empty('No deployments yet: there is nothing to review.')}`;
    const item = current();
    return html`
      <div class="page-head">
        <h1>Review</h1>
        <label for="review-deployment" class="inline">Deployment
          <select id="review-deployment" @change=${(e) => choose(e.target.value)}>
            ${s.deployments.map((d) => html`<option value=${d.id} ?selected=${s.dep && d.id === s.dep.id}>${d.name}</option>`)}
          </select>
        </label>
      </div>
      ${countsView()}
      <div class="review-message" aria-live="assertive">
        ${s.message ? html`<div class=${s.message.kind === 'ok' ? 'notice' : s.message.kind === 'warn' ? 'warning' : 'error'}>${s.message.text}</div>` : ''}
      </div>
      ${s.error ? errorBox(s.error, () => loadQueue(false))
        : s.items === null ? loading('Loading the review queue')
        : html`<div class="review-layout">${item ? itemView(item) : endView()}${sideView(item)}</div>`}`;
  };

  const timer = setInterval(tick, 500);
  document.addEventListener('keydown', onKey);
  window.addEventListener('beforeunload', onUnload);
  rerender();
  start();

  return () => {
    flushAll();
    gone = true;
    clearInterval(timer);
    document.removeEventListener('keydown', onKey);
    window.removeEventListener('beforeunload', onUnload);
    for (const i of inputs.values()) if (i.url) URL.revokeObjectURL(i.url);
  };
}
