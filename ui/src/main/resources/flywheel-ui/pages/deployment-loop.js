// The deployment page's loop panels: continuous training (when and how a new version is trained), the shadow and
// its live comparison with the primary (with promote and rollback), and continuous deployment (the promoter that
// decides). Settings of triggers, provisioners and promoters are rendered from their extensions' config schemas.
import { html, svg } from 'lit-html';
import { repeat } from 'lit-html/directives/repeat.js';
import { keyed } from 'lit-html/directives/keyed.js';
import { api } from '../api.js';
import { confirmDialog } from '../components/confirm.js';
import { errorBox, loading } from '../components/feedback.js';
import {
  extensionsByPoint, maybeModelVersion, schemaOf, versionLabel, versionLink,
} from '../components/lookup.js';
import { readSchemaValues, schemaFields, settingsList } from '../components/schema-form.js';
import {
  fmtActor, fmtAgo, fmtIsoDuration, fmtMs, fmtNumber, fmtP, fmtPercent, fmtPrecise, fmtTime, fmtValue, shortDuration,
} from '../format.js';
import { joinCommandLine, splitCommandLine } from '../components/cmdline.js';
import { inFlight, runStatus, startRun } from './runs.js';

const enc = encodeURIComponent;
const REFRESH_MS = 4000;

/** Settings equal to their default are left out of a form, so that the field shows the default as its placeholder. */
function withoutDefaults(schema, values) {
  if (!schema) return { ...(values || {}) };
  const out = {};
  for (const [k, v] of Object.entries(values || {})) {
    const s = schema.find((x) => x.name === k);
    const same = s && (s.kind === 'duration' ? shortDuration(String(s.default_value)) === shortDuration(String(v))
      : JSON.stringify(s.default_value) === JSON.stringify(v));
    if (!same) out[k] = v;
  }
  return out;
}

const onOff = (active) => (active ? html`<span class="state state-started">on</span>` : html`<span class="state state-disabled">off</span>`);

const evidenceTable = (ev) => (!ev || Object.keys(ev).length === 0 ? html`<p class="muted">No numbers.</p>` : html`
  <table class="evidence"><tbody>${Object.entries(ev).map(([k, v]) => html`
    <tr><th scope="row"><code>${k}</code></th><td class="num">${typeof v === 'object' && v !== null ? html`<code>${JSON.stringify(v)}</code>` : fmtPrecise(v)}</td></tr>`)}</tbody></table>`);

const BAKE_CLASS = { baking: '', passed: 'state-started', rolled_back: 'state-failed', ended: 'state-disabled' };

const VERDICT_CLASS = { PROMOTE: 'state-started', REJECT: 'state-failed', FAILED: 'state-failed', KEEP_WAITING: 'state-disabled' };

let uid = 0;

/**
 * The panels' controller.
 *
 * @param id the deployment
 * @param me who is signed in
 * @param rerender asks the page to render again
 * @param reloadDeployment asks the page to fetch the deployment again (after the primary or shadow changed)
 * @param navigate goes to a hash
 */
export function loopPanels({ id, me, rerender, reloadDeployment, navigate }) {
  const canEdit = me.role === 'admin' || me.role === 'engineer';
  const dep = enc(id);
  let st = {
    ext: null, rollbackSchema: null, ct: undefined, cd: undefined, comparison: null, comparisonError: null, versions: null, versionsOf: null,
    ctDraft: null, cdDraft: null, notices: {}, busy: false, error: null, bucket: '1h',
  };
  let timer = null;
  let stopped = false;
  let d = null;

  const set = (patch) => {
    st = { ...st, ...patch };
    if (!stopped) rerender();
  };
  const notice = (panel, ok, text) => set({ notices: { ...st.notices, [panel]: text ? { ok, text } : null } });

  const orNull = (p) => p.catch((e) => {
    if (e.status === 404) return null;
    throw e;
  });

  /** Fetches what the panels show; d is the deployment as the page last read it. */
  const load = async (deployment) => {
    if (deployment) d = deployment;
    clearTimeout(timer);
    try {
      const [ext, rollbackSchema, ct, cd] = await Promise.all([
        st.ext ? Promise.resolve(st.ext) : extensionsByPoint(),
        st.rollbackSchema ? Promise.resolve(st.rollbackSchema)
          : api('/api/continuous-deployment/rollback-schema').then((r) => r.config_schema),
        orNull(api(`/api/deployments/${dep}/continuous-training`)),
        orNull(api(`/api/deployments/${dep}/continuous-deployment`)),
      ]);
      const patch = { ext, rollbackSchema, ct, cd, error: null };
      if (d && d.shadow_model_version_id) {
        try {
          patch.comparison = await api(`/api/deployments/${dep}/comparison?bucket=${st.bucket}&buckets=24`);
          patch.comparisonError = null;
        } catch (e) {
          patch.comparison = null;
          patch.comparisonError = e.status === 409 ? null : e;
        }
      } else {
        patch.comparison = null;
        patch.comparisonError = null;
      }
      if (d && canEdit && st.versionsOf !== d.primary_model_version_id) {
        const primary = await api(`/api/model-versions/${enc(d.primary_model_version_id)}`);
        patch.versions = (await api(`/api/models/${enc(primary.model_id)}/versions?limit=500`)).items;
        patch.versionsOf = d.primary_model_version_id;
      }
      set(patch);
    } catch (e) {
      set({ error: e });
    }
    if (!stopped) timer = setTimeout(() => load(), st.ct && inFlight(st.ct.last_run) ? 1500 : REFRESH_MS);
  };

  /** Runs a change and says how it went in that panel. */
  const act = async (panel, done, call, after) => {
    set({ busy: true });
    notice(panel, true, null);
    try {
      const result = await call();
      if (after) after(result);
      notice(panel, true, done);
    } catch (e) {
      notice(panel, false, e.message);
    }
    set({ busy: false });
  };

  // ---- continuous training --------------------------------------------------------------------------------------

  const triggers = () => st.ext.retraining_trigger;
  const provisioners = () => st.ext.gpu_provisioner;
  const displayName = (list, type) => (list.find((x) => x.type === type) || { display_name: type }).display_name;

  const editCt = () => {
    const ct = st.ct;
    const provisioner = ct ? ct.provisioner : (provisioners().some((p) => p.type === 'local') ? 'local' : provisioners()[0]?.type || 'local');
    const defaultTrigger = triggers().some((t) => t.type === 'review-threshold') ? [{ uid: ++uid, type: 'review-threshold', config: {} }] : [];
    set({
      ctDraft: {
        experiment_name: ct ? ct.experiment_name : 'auto-retrain-v{n}',
        gpu_type: ct ? ct.gpu_type || '' : '',
        allow_cpu_fallback: ct ? ct.allow_cpu_fallback : false,
        provisioner,
        provisioner_config: ct ? withoutDefaults(schemaOf(provisioners(), provisioner), ct.provisioner_config) : {},
        trainer: ct ? ct.trainer.type : 'builtin',
        params: ct && ct.trainer.params && Object.keys(ct.trainer.params).length ? JSON.stringify(ct.trainer.params, null, 2) : '',
        command: ct && ct.trainer.command ? joinCommandLine(ct.trainer.command) : '',
        image: ct && ct.trainer.image ? ct.trainer.image : '',
        triggers: ct ? ct.triggers.map((t) => ({ uid: ++uid, type: t.type, config: withoutDefaults(schemaOf(triggers(), t.type), t.config) }))
          : defaultTrigger,
        cooldown: ct ? shortDuration(ct.cooldown) : '',
        timeout: ct ? shortDuration(ct.timeout) : '',
        active: ct ? ct.active : false,
      },
    });
    notice('ct', true, null);
  };

  const draftCt = (patch) => set({ ctDraft: { ...st.ctDraft, ...patch } });

  const saveCt = (e) => {
    e.preventDefault();
    const form = e.target;
    const f = new FormData(form);
    const draft = st.ctDraft;
    let body;
    try {
      const provSchema = schemaOf(provisioners(), draft.provisioner) || [];
      const paramsText = (f.get('params') || '').trim();
      const params = paramsText ? JSON.parse(paramsText) : {};
      if (typeof params !== 'object' || Array.isArray(params) || params === null) throw new Error('params must be a JSON object such as {"epochs": 5}');
      const trainer = { type: draft.trainer, params };
      if (draft.trainer === 'command') {
        trainer.command = splitCommandLine(f.get('command') || '');
        if (trainer.command.length === 0) throw new Error('the command line is required for a command trainer');
        const image = (f.get('image') || '').trim();
        if (image) trainer.image = image;
      }
      body = {
        experiment_name: (f.get('experiment_name') || '').trim() || undefined,
        gpu_type: (f.get('gpu_type') || '').trim() || null,
        allow_cpu_fallback: f.get('allow_cpu_fallback') === 'on',
        provisioner: draft.provisioner,
        provisioner_config: readSchemaValues(form.querySelector('[data-provisioner-settings]'), provSchema),
        trainer,
        triggers: draft.triggers.map((t, i) => {
          try {
            return { type: t.type, config: readSchemaValues(form.querySelector(`[data-trigger-uid="${t.uid}"]`), schemaOf(triggers(), t.type) || []) };
          } catch (err) {
            throw new Error(`trigger ${i + 1} (${t.type}), ${err.message}`);
          }
        }),
        active: f.get('active') === 'on',
      };
      const cooldown = (f.get('cooldown') || '').trim();
      const timeout = (f.get('timeout') || '').trim();
      if (cooldown) body.cooldown = cooldown;
      if (timeout) body.timeout = timeout;
    } catch (err) {
      notice('ct', false, err instanceof SyntaxError ? `params: ${err.message}` : err.message);
      return;
    }
    act('ct', 'Continuous training saved.', () => api(`/api/deployments/${dep}/continuous-training`, { method: 'PUT', json: body }),
      (ct) => set({ ct, ctDraft: null }));
  };

  const toggleCt = (active) => act('ct', active ? 'Continuous training turned on.' : 'Continuous training turned off.',
    () => api(`/api/deployments/${dep}/continuous-training/active`, { method: 'PUT', json: { active } }), (ct) => set({ ct }));

  const startNow = () => act('ct', 'Run started.', () => startRun(id), (run) => navigate(`#/runs/${run.id}`));

  const ctForm = () => {
    const draft = st.ctDraft;
    const provSchema = schemaOf(provisioners(), draft.provisioner);
    return html`
      <form class="ct-form stack" @submit=${saveCt} aria-label="Continuous training settings">
        <div class="form-grid">
          <label for="ct-experiment">Run name template
            <input id="ct-experiment" name="experiment_name" .value=${draft.experiment_name} placeholder="auto-retrain-v{n}"
                   aria-describedby="ct-experiment-help" required maxlength="150">
            <span class="hint" id="ct-experiment-help">{n} is the run number.</span>
          </label>
          <label for="ct-gpu">GPU type
            <input id="ct-gpu" name="gpu_type" .value=${draft.gpu_type} placeholder="CPU when empty, e.g. A10G">
          </label>
          <label for="ct-cooldown">Cooldown
            <input id="ct-cooldown" name="cooldown" .value=${draft.cooldown} placeholder="default: 10m" aria-describedby="ct-cooldown-help">
            <span class="hint" id="ct-cooldown-help">Least time between triggered runs.</span>
          </label>
          <label for="ct-timeout">Timeout
            <input id="ct-timeout" name="timeout" .value=${draft.timeout} placeholder="default: 2h" aria-describedby="ct-timeout-help">
            <span class="hint" id="ct-timeout-help">A longer run is stopped.</span>
          </label>
        </div>
        <label class="inline" for="ct-fallback"><input type="checkbox" id="ct-fallback" name="allow_cpu_fallback" .checked=${draft.allow_cpu_fallback}>
          Train on CPU when that GPU type is not available</label>

        <fieldset data-provisioner-settings>
          <legend>Provisioner</legend>
          <label for="ct-provisioner">Where runs run
            <select id="ct-provisioner" name="provisioner" @change=${(e) => draftCt({ provisioner: e.target.value, provisioner_config: {} })}>
              ${provisioners().map((p) => html`<option value=${p.type} ?selected=${p.type === draft.provisioner}>${p.display_name} (${p.type})</option>`)}
              ${provisioners().some((p) => p.type === draft.provisioner) ? '' : html`<option value=${draft.provisioner} selected>${draft.provisioner} (not installed)</option>`}
            </select>
          </label>
          ${keyed(draft.provisioner, provSchema ? schemaFields(provSchema, draft.provisioner_config, { prefix: 'prov' })
            : html`<p class="warn">No provisioner of type ${draft.provisioner} is installed.</p>`)}
        </fieldset>

        <fieldset data-trainer>
          <legend>Trainer</legend>
          <div class="row" role="radiogroup" aria-label="Trainer type">
            <label class="inline"><input type="radio" name="trainer" value="builtin" .checked=${draft.trainer === 'builtin'}
              @change=${() => draftCt({ trainer: 'builtin' })}> Built-in (the model runtime's trainer)</label>
            <label class="inline"><input type="radio" name="trainer" value="command" .checked=${draft.trainer === 'command'}
              @change=${() => draftCt({ trainer: 'command' })}> Command (your own script)</label>
          </div>
          ${draft.trainer === 'command' ? html`
            <label for="ct-command">Command line
              <input id="ct-command" name="command" class="mono" .value=${draft.command} required spellcheck="false"
                     placeholder="/usr/bin/python3 train.py --epochs 5" aria-describedby="ct-command-help">
              <span class="hint" id="ct-command-help">Quoted like a shell command. It runs in the job's work dir with
                FLYWHEEL_DATASET_DIR, FLYWHEEL_BASE_MODEL_DIR, FLYWHEEL_OUTPUT_DIR and FLYWHEEL_PARAMS set.</span>
            </label>
            <label for="ct-image">Container image <input id="ct-image" name="image" .value=${draft.image} placeholder="only for container provisioners"></label>` : ''}
          <label for="ct-params">Hyper-parameters (JSON)
            <textarea id="ct-params" name="params" class="mono" rows="3" .value=${draft.params} placeholder='{"epochs": 5, "lr": 0.001}'
                      spellcheck="false" aria-describedby="ct-params-help"></textarea>
            <span class="hint" id="ct-params-help">Handed to the trainer as FLYWHEEL_PARAMS.</span>
          </label>
        </fieldset>

        <fieldset data-triggers>
          <legend>Triggers</legend>
          ${draft.triggers.length === 0 ? html`<p class="muted">No triggers: runs start only by hand.</p>` : ''}
          ${repeat(draft.triggers, (t) => t.uid, (t, i) => html`
            <fieldset class="trigger" data-trigger-uid=${t.uid} data-trigger-type=${t.type}>
              <legend>${i + 1}. ${displayName(triggers(), t.type)} <code class="muted">${t.type}</code></legend>
              ${schemaOf(triggers(), t.type) ? schemaFields(schemaOf(triggers(), t.type), t.config, { prefix: `trg${t.uid}` })
                : html`<p class="warn">No trigger of type ${t.type} is installed.</p>`}
              <button type="button" class="link danger" data-action="remove-trigger"
                      @click=${() => draftCt({ triggers: draft.triggers.filter((x) => x.uid !== t.uid) })}>Remove this trigger</button>
            </fieldset>`)}
          <div class="row">
            <label for="ct-add-trigger">Add a trigger
              <select id="ct-add-trigger">
                ${triggers().map((t) => html`<option value=${t.type}>${t.display_name} (${t.type})</option>`)}
              </select>
            </label>
            <button type="button" data-action="add-trigger" ?disabled=${triggers().length === 0}
                    @click=${(e) => draftCt({ triggers: [...draft.triggers, { uid: ++uid, type: e.target.form.querySelector('#ct-add-trigger').value, config: {} }] })}>Add trigger</button>
          </div>
        </fieldset>

        <label class="inline" for="ct-active"><input type="checkbox" id="ct-active" name="active" .checked=${draft.active}>
          Evaluate the triggers (continuous training on)</label>
        <div class="actions">
          <button type="submit" class="primary" ?disabled=${st.busy}>Save continuous training</button>
          <button type="button" @click=${() => set({ ctDraft: null })}>Cancel</button>
        </div>
      </form>`;
  };

  const reviewProgress = (ct) => {
    const rt = ct.triggers.find((t) => t.type === 'review-threshold');
    const reviewed = ct.reviewed_since_last_run;
    if (!rt) {
      return html`<p class="progress-text" aria-live="polite" data-reviewed><strong>${fmtNumber(reviewed)}</strong> reviewed since the last run</p>`;
    }
    const threshold = rt.config.threshold;
    return html`
      <div class="progress" data-progress aria-live="polite">
        <p class="progress-text" data-reviewed><strong>${fmtNumber(reviewed)} / ${fmtNumber(threshold)}</strong> reviewed since the last run
          <span class="muted">(${fmtPercent(Math.min(1, reviewed / threshold))} of the review threshold)</span></p>
        <progress max=${threshold} .value=${Math.min(reviewed, threshold)} aria-label="Reviews toward the next run"></progress>
      </div>`;
  };

  const triggerList = (ct) => html`
    <ul class="triggers plain">${ct.triggers.map((t, i) => {
      const s = ct.trigger_states.find((x) => x.index === i);
      return html`
        <li class="trigger-item" data-trigger-index=${i} data-trigger-type=${t.type}>
          <div><strong>${displayName(triggers(), t.type)}</strong> <code class="muted">${t.type}</code>
            ${s ? html`<span class="state ${s.fired ? 'state-started' : ''}">${s.fired ? 'fired' : 'not fired'}</span>
              <span class="muted" title=${fmtTime(s.evaluated_at)}>${fmtAgo(s.evaluated_at)}</span>` : html`<span class="muted">not evaluated yet</span>`}</div>
          ${settingsList(schemaOf(triggers(), t.type), t.config)}
          ${s ? html`<details><summary>${s.reason}</summary>${evidenceTable(s.evidence)}</details>` : ''}
        </li>`;
    })}</ul>`;

  const ctCard = () => {
    const ct = st.ct;
    return html`
      <section class="card" aria-labelledby="ct-h" data-panel="continuous-training">
        <header><h2 id="ct-h">Continuous training</h2> ${ct ? onOff(ct.active) : html`<span class="state">not set up</span>`}</header>
        ${st.notices.ct ? html`<div class=${st.notices.ct.ok ? 'notice' : 'error'} role="status">${st.notices.ct.text}</div>` : ''}
        ${st.ctDraft ? ctForm() : ct === null ? html`
          <p>Train a new version when enough predictions have been reviewed, when traffic drifts, or on a schedule.</p>
          ${canEdit ? html`<div class="actions">
            <button class="primary" data-action="edit-ct" @click=${editCt}>Set up continuous training</button>
            <button data-action="start-run" ?disabled=${st.busy} @click=${startNow}>Start a run</button></div>` : ''}`
        : html`
          ${reviewProgress(ct)}
          <h3>Triggers</h3>
          ${ct.triggers.length === 0 ? html`<p class="muted">None: runs start only by hand.</p>` : triggerList(ct)}
          <h3>Last run</h3>
          <p data-last-run aria-live="polite">${ct.last_run ? html`<a href="#/runs/${ct.last_run.id}">${ct.last_run.name}</a> ${runStatus(ct.last_run.status)}
              <span class="muted" title=${fmtTime(ct.last_run.created_at)}>${fmtAgo(ct.last_run.created_at)}, ${ct.last_run.trigger.type}</span>`
            : html`<span class="muted">none yet</span>`}
            · <a href="#/deployments/${id}/runs">Run history</a></p>
          <details class="ct-settings">
            <summary>Settings</summary>
            <dl class="facts">
              <dt>Run names</dt><dd><code>${ct.experiment_name}</code> <span class="muted">(${fmtNumber(ct.run_counter)} runs so far)</span></dd>
              <dt>GPU type</dt><dd>${ct.gpu_type || 'CPU'}${ct.gpu_type && ct.allow_cpu_fallback ? html` <span class="muted">or CPU</span>` : ''}</dd>
              <dt>Provisioner</dt><dd><code>${ct.provisioner}</code> ${settingsList(schemaOf(provisioners(), ct.provisioner), withoutDefaults(schemaOf(provisioners(), ct.provisioner), ct.provisioner_config))}</dd>
              <dt>Trainer</dt><dd data-trainer-summary>${ct.trainer.type === 'command' ? html`<code class="cmd">${joinCommandLine(ct.trainer.command)}</code>` : 'built-in'}
                ${ct.trainer.params && Object.keys(ct.trainer.params).length ? html`<div class="muted">params <code>${JSON.stringify(ct.trainer.params)}</code></div>` : ''}</dd>
              <dt>Cooldown</dt><dd>${fmtIsoDuration(ct.cooldown)}</dd>
              <dt>Timeout</dt><dd>${fmtIsoDuration(ct.timeout)}</dd>
              <dt>Changed</dt><dd>${fmtAgo(ct.updated_at)} by ${fmtActor(ct.updated_by)}</dd>
            </dl>
          </details>
          ${canEdit ? html`
            <div class="actions">
              <button data-action="edit-ct" @click=${editCt}>Edit settings</button>
              <button data-action="toggle-ct" class=${ct.active ? '' : 'primary'} ?disabled=${st.busy} @click=${() => toggleCt(!ct.active)}>${ct.active ? 'Turn off' : 'Turn on'}</button>
              <button data-action="start-run" ?disabled=${st.busy || inFlight(ct.last_run)} title=${inFlight(ct.last_run) ? 'A run is in flight' : ''}
                      @click=${startNow}>Start a run</button>
            </div>` : ''}`}
      </section>`;
  };

  // ---- shadow, comparison, promotion ----------------------------------------------------------------------------

  const policy = () => {
    const paired = schemaOf(st.ext.promotion_policy, (st.cd && st.cd.promoter) || 'paired') || [];
    const dflt = (name) => (paired.find((s) => s.name === name) || {}).default_value;
    const settings = (st.cd && st.cd.settings) || {};
    return {
      threshold: settings.promotion_threshold ?? dflt('promotion_threshold'),
      mode: settings.threshold_mode ?? dflt('threshold_mode') ?? 'absolute',
      minSamples: settings.min_samples ?? dflt('min_samples'),
    };
  };

  const setShadow = (e) => {
    e.preventDefault();
    const v = new FormData(e.target).get('model_version_id');
    act('shadow', 'Shadow set: the comparison starts now.', () => api(`/api/deployments/${dep}/shadow`, { method: 'PUT', json: { model_version_id: v } }),
      () => reloadDeployment());
  };

  const removeShadow = async () => {
    const ok = await confirmDialog({ title: 'Remove the shadow?', body: 'The shadow stops running and its comparison ends.', confirmLabel: 'Remove shadow' });
    if (ok) act('shadow', 'Shadow removed.', () => api(`/api/deployments/${dep}/shadow`, { method: 'DELETE' }), () => reloadDeployment());
  };

  const promote = async (s) => {
    const o = st.comparison ? st.comparison.overall : null;
    const ok = await confirmDialog({
      title: `Promote ${s.shadow ? versionLabel(s.shadow) : 'the shadow'}?`,
      body: html`<p>It becomes the primary at once and answers every prediction; ${s.primary ? versionLabel(s.primary) : 'the primary'} is kept for a rollback.</p>
        ${o ? html`<p class="muted">Accuracy on ${fmtNumber(o.paired_reviewed)} paired reviews: shadow ${fmtPercent(o.shadow_accuracy?.value)}, primary ${fmtPercent(o.primary_accuracy?.value)}; McNemar p = ${fmtP(o.mcnemar?.p_value)}.</p>` : ''}`,
      confirmLabel: 'Promote',
    });
    if (ok) act('shadow', 'Promoted: the shadow is now the primary.', () => api(`/api/deployments/${dep}/promote`, { method: 'POST' }), () => reloadDeployment());
  };

  const rollback = async (s, previous) => {
    const ok = await confirmDialog({
      title: 'Roll back?',
      body: html`<p>The primary that the last promotion replaced serves again, instead of ${s.primary ? versionLabel(s.primary) : 'the current primary'}.</p>
        ${previous ? html`<p>Back to: ${versionLabel(previous)}</p>` : ''}`,
      confirmLabel: 'Roll back',
      danger: true,
    });
    if (ok) act('shadow', 'Rolled back to the previous primary.', () => api(`/api/deployments/${dep}/rollback`, { method: 'POST' }), () => reloadDeployment());
  };

  const acc = (a) => (a ? html`<span class="acc">${fmtPercent(a.value)}</span> <span class="muted ci">${fmtPercent(a.ci95_low)}–${fmtPercent(a.ci95_high)}</span>` : html`<span class="muted">—</span>`);

  const comparisonView = (c) => {
    const o = c.overall;
    const probe = c.latency_probe;
    const p = policy();
    return html`
      <div class="comparison" data-comparison aria-live="polite">
        <div class="tiles small">
          <div class="tile" data-stat="compared"><span class="tile-value">${fmtNumber(o.compared)}</span><span class="tile-label">samples compared</span></div>
          <div class="tile" data-stat="agreement"><span class="tile-value">${fmtPercent(o.agreement_rate)}</span><span class="tile-label">agreement</span></div>
          <div class="tile" data-stat="paired"><span class="tile-value">${fmtNumber(o.paired_reviewed)}</span>
            <span class="tile-label">paired reviewed${p.minSamples ? html` of ${fmtNumber(p.minSamples)} needed` : ''}</span></div>
          <div class="tile" data-stat="p-value"><span class="tile-value">${fmtP(o.mcnemar?.p_value)}</span>
            <span class="tile-label">McNemar p (${fmtNumber(o.mcnemar?.b)} vs ${fmtNumber(o.mcnemar?.c)})</span></div>
        </div>
        <div class="table-wrap">
          <table class="compare">
            <thead><tr><th scope="col"></th><th scope="col">Primary</th><th scope="col">Shadow</th></tr></thead>
            <tbody>
              <tr data-row="accuracy"><th scope="row">Accuracy <span class="muted">(95% CI)</span></th><td>${acc(o.primary_accuracy)}</td><td>${acc(o.shadow_accuracy)}</td></tr>
              <tr data-row="correct"><th scope="row">Only this one right</th><td class="num">${fmtNumber(o.primary_only_correct)}</td><td class="num">${fmtNumber(o.shadow_only_correct)}</td></tr>
              <tr data-row="pass"><th scope="row">Forward pass, back to back <span class="muted">(median)</span></th>
                <td class="num">${fmtMs(probe?.primary_median_ms)}</td>
                <td class="num">${fmtMs(probe?.shadow_median_ms)}${probe?.median_ratio != null ? html` <span class=${probe.median_ratio > 2 ? 'warn' : 'muted'}>(${probe.median_ratio.toFixed(2)}×, ${fmtNumber(probe.pairs)} pairs)</span>` : ''}</td></tr>
              <tr data-row="p50"><th scope="row">Latency as served p50</th><td class="num">${fmtMs(o.primary_latency_ms?.p50)}</td><td class="num">${fmtMs(o.shadow_latency_ms?.p50)}</td></tr>
              <tr data-row="p95"><th scope="row">Latency as served p95</th><td class="num">${fmtMs(o.primary_latency_ms?.p95)}</td><td class="num">${fmtMs(o.shadow_latency_ms?.p95)}</td></tr>
              <tr data-row="wait"><th scope="row">Queue wait p95</th><td class="num muted">—</td><td class="num">${fmtMs(o.shadow_queue_wait_ms?.p95)}</td></tr>
              <tr data-row="errors"><th scope="row">Errors / skipped / pending</th><td class="num muted">—</td>
                <td class="num">${fmtNumber(o.errors)} / ${fmtNumber(o.skips)} / ${fmtNumber(o.pending)}${o.error_rate ? html` <span class="warn">(${fmtPercent(o.error_rate)})</span>` : ''}</td></tr>
              <tr data-row="backfill"><th scope="row">Reviewed, awaiting the shadow / backfilled</th><td class="num muted">—</td>
                <td class="num">${fmtNumber(o.reviewed_awaiting_shadow)} / ${fmtNumber(o.backfilled)}</td></tr>
            </tbody>
          </table>
        </div>
        <div class="chart-head">
          <h3>Accuracy over time</h3>
          <label class="inline" for="cmp-bucket">per
            <select id="cmp-bucket" .value=${st.bucket} @change=${(e) => { st.bucket = e.target.value; load(); }}>
              <option value="1m">minute</option><option value="15m">15 minutes</option><option value="1h">hour</option><option value="1d">day</option>
            </select></label>
        </div>
        ${comparisonChart(c, p)}
        ${c.notes && c.notes.length ? html`<ul class="notes" data-notes>${c.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
        <p class="muted small">Counting since the shadow was set, ${fmtAgo(c.shadow_since)} · as of ${fmtTime(c.as_of)}.</p>
      </div>`;
  };

  const shadowCard = (s) => {
    const versions = (st.versions || []).filter((v) => v.id !== d.primary_model_version_id);
    const previous = d.previous_primary_model_version_id;
    return html`
      <section class="card" aria-labelledby="shadow-h" data-panel="shadow">
        <header><h2 id="shadow-h">Shadow &amp; comparison</h2></header>
        ${st.notices.shadow ? html`<div class=${st.notices.shadow.ok ? 'notice' : 'error'} role="status">${st.notices.shadow.text}</div>` : ''}
        <dl class="facts">
          <dt>Primary</dt><dd data-primary-version>${versionLink(s.primary)}</dd>
          <dt>Shadow</dt><dd data-shadow-version>${versionLink(s.shadow)}${d.shadow_since ? html` <span class="muted">since ${fmtAgo(d.shadow_since)}</span>` : ''}</dd>
        </dl>
        ${canEdit ? html`
          <form class="row shadow-form" @submit=${setShadow}>
            <label for="shadow-version">Run as shadow
              <select id="shadow-version" name="model_version_id" required>
                <option value="">Choose a version…</option>
                ${versions.slice().reverse().map((v) => html`<option value=${v.id} ?selected=${v.id === d.shadow_model_version_id}>
                  v${v.version}${v.training_run_id ? ' (trained)' : ''} · ${fmtAgo(v.created_at)}</option>`)}
              </select>
            </label>
            <button type="submit" ?disabled=${st.busy || versions.length === 0}>Set shadow</button>
            ${d.shadow_model_version_id ? html`<button type="button" class="danger" data-action="remove-shadow" ?disabled=${st.busy} @click=${removeShadow}>Remove shadow</button>` : ''}
          </form>` : ''}
        ${!d.shadow_model_version_id ? html`<p class="muted">No shadow runs: set one to compare it with the primary on live traffic.</p>`
          : st.comparisonError ? errorBox(st.comparisonError, () => load())
          : st.comparison ? comparisonView(st.comparison) : loading('Loading the comparison')}
        ${canEdit ? html`
          <div class="actions">
            <button class="primary" data-action="promote" ?disabled=${st.busy || !d.shadow_model_version_id} @click=${() => promote(s)}>Promote shadow</button>
            <button data-action="rollback" ?disabled=${st.busy || !previous} title=${previous ? '' : 'No promotion to undo'}
                    @click=${async () => rollback(s, previous ? await maybeModelVersion(previous) : null)}>Roll back</button>
          </div>` : ''}
      </section>`;
  };

  // ---- continuous deployment ------------------------------------------------------------------------------------

  const promoters = () => st.ext.promotion_policy;

  const editCd = () => {
    const cd = st.cd;
    const promoter = cd ? cd.promoter : (promoters().some((p) => p.type === 'paired') ? 'paired' : promoters()[0]?.type || 'paired');
    set({
      cdDraft: {
        policy: cd ? cd.policy : 'shadow',
        promoter,
        evaluation_interval: cd ? shortDuration(cd.evaluation_interval) : '',
        settings: cd ? withoutDefaults(schemaOf(promoters(), promoter), cd.settings) : {},
        rollback: cd ? withoutDefaults(st.rollbackSchema, cd.rollback) : {},
      },
    });
    notice('cd', true, null);
  };

  const saveCd = (e) => {
    e.preventDefault();
    const form = e.target;
    const f = new FormData(form);
    let body;
    try {
      const values = readSchemaValues(form.querySelector('[data-promoter-settings]'), schemaOf(promoters(), st.cdDraft.promoter) || []);
      const rollback = readSchemaValues(form.querySelector('[data-rollback-settings]'), st.rollbackSchema || []);
      body = { ...values, policy: f.get('policy'), promoter: st.cdDraft.promoter, rollback };
      const interval = (f.get('evaluation_interval') || '').trim();
      if (interval) body.evaluation_interval = interval;
    } catch (err) {
      notice('cd', false, err.message);
      return;
    }
    act('cd', 'Continuous deployment saved.', () => api(`/api/deployments/${dep}/continuous-deployment`, { method: 'PUT', json: body }),
      (cd) => set({ cd, cdDraft: null }));
  };

  const toggleCd = (active) => act('cd', active ? 'Continuous deployment turned on.' : 'Continuous deployment turned off.',
    () => api(`/api/deployments/${dep}/continuous-deployment/active`, { method: 'PUT', json: { active } }), (cd) => set({ cd }));

  const cdForm = () => {
    const draft = st.cdDraft;
    const schema = schemaOf(promoters(), draft.promoter);
    return html`
      <form class="cd-form stack" @submit=${saveCd} aria-label="Continuous deployment settings">
        <div class="form-grid">
          <label for="cd-policy">New versions from training
            <select id="cd-policy" name="policy">
              <option value="shadow" ?selected=${draft.policy === 'shadow'}>shadow: run beside the primary</option>
              <option value="champion" ?selected=${draft.policy === 'champion'}>champion: become the primary at once</option>
              <option value="manual" ?selected=${draft.policy === 'manual'}>manual: only registered</option>
            </select>
          </label>
          <label for="cd-promoter">Promoter
            <select id="cd-promoter" name="promoter" @change=${(e) => set({ cdDraft: { ...draft, promoter: e.target.value, settings: {} } })}>
              ${promoters().map((p) => html`<option value=${p.type} ?selected=${p.type === draft.promoter}>${p.display_name} (${p.type})</option>`)}
            </select>
          </label>
          <label for="cd-interval">Ask the promoter every
            <input id="cd-interval" name="evaluation_interval" .value=${draft.evaluation_interval} placeholder="default: 30s">
          </label>
        </div>
        <fieldset data-promoter-settings>
          <legend>Promoter settings</legend>
          ${keyed(draft.promoter, schema ? schemaFields(schema, draft.settings, { prefix: 'prom' }) : html`<p class="warn">Not installed.</p>`)}
        </fieldset>
        <fieldset data-rollback-settings>
          <legend>Automatic rollback after an automatic promotion</legend>
          ${schemaFields(st.rollbackSchema, draft.rollback, { prefix: 'rb' })}
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary" ?disabled=${st.busy}>Save continuous deployment</button>
          <button type="button" @click=${() => set({ cdDraft: null })}>Cancel</button>
        </div>
      </form>`;
  };

  const decisionView = (dec) => (!dec ? html`<p class="muted">The promoter has not decided yet.</p>` : html`
    <div class="decision-box" data-decision=${dec.verdict} aria-live="polite">
      <p><span class="state ${VERDICT_CLASS[dec.verdict] || ''}">${dec.verdict.replace('_', ' ').toLowerCase()}</span>
        <span class="muted" title=${fmtTime(dec.at)}>${fmtAgo(dec.at)}</span></p>
      <p>${dec.reason}</p>
      <details><summary>The numbers</summary>${evidenceTable(dec.evidence)}</details>
    </div>`);

  const bakeView = (b) => (!b ? html`<p class="muted">No automatic promotion yet.</p>` : html`
    <div class="decision-box" data-bake=${b.status} aria-live="polite">
      <p><span class="state ${BAKE_CLASS[b.status] || ''}">${b.status.replace('_', ' ')}</span>
        ${versionLink({ id: b.model_version_id })} <span class="muted">against</span> ${versionLink({ id: b.previous_model_version_id })}
        <span class="muted" title=${fmtTime(b.ends_at)}>· ${b.status === 'baking' ? `ends ${fmtAgo(b.ends_at)}` : `checked ${fmtAgo(b.updated_at)}`}</span></p>
      <p>${b.reason}</p>
      <details><summary>The numbers</summary>${evidenceTable(b.checks)}</details>
    </div>`);

  const rejectionView = (r) => (!r ? '' : html`
    <h3>Last candidate turned away</h3>
    <div class="decision-box" data-rejection=${r.verdict}>
      <p><span class="state state-failed">${r.verdict === 'ROLLED_BACK' ? 'rolled back' : 'rejected'}</span>
        ${versionLink({ id: r.model_version_id })} <span class="muted" title=${fmtTime(r.at)}>${fmtAgo(r.at)}</span></p>
      <p>${r.reason}</p>
      <p class="muted small">The next trigger that fires trains a new candidate.</p>
    </div>`);

  const cdCard = () => {
    const cd = st.cd;
    return html`
      <section class="card" aria-labelledby="cd-h" data-panel="continuous-deployment">
        <header><h2 id="cd-h">Continuous deployment</h2> ${cd ? onOff(cd.active) : html`<span class="state">not set up</span>`}</header>
        ${st.notices.cd ? html`<div class=${st.notices.cd.ok ? 'notice' : 'error'} role="status">${st.notices.cd.text}</div>` : ''}
        ${st.cdDraft ? cdForm() : cd === null ? html`
          <p>Decide what happens to the versions training makes, and let a promoter promote a shadow that proves better.</p>
          ${canEdit ? html`<button class="primary" data-action="edit-cd" @click=${editCd}>Set up continuous deployment</button>` : ''}`
        : html`
          <dl class="facts">
            <dt>Policy</dt><dd>${cd.policy}</dd>
            <dt>Promoter</dt><dd><code>${cd.promoter}</code> <span class="muted">every ${fmtIsoDuration(cd.evaluation_interval)}</span></dd>
            <dt>Settings</dt><dd>${settingsList(schemaOf(promoters(), cd.promoter), cd.settings)}</dd>
            <dt>Automatic rollback</dt><dd>${cd.rollback.bake_period === 'PT0S' ? html`<span class="muted">off</span>`
              : settingsList(st.rollbackSchema, cd.rollback)}</dd>
          </dl>
          <h3>Last decision</h3>
          ${decisionView(cd.last_decision)}
          <h3>Bake after the last automatic promotion</h3>
          ${bakeView(cd.bake)}
          ${rejectionView(cd.last_rejection)}
          ${canEdit ? html`
            <div class="actions">
              <button data-action="edit-cd" @click=${editCd}>Edit settings</button>
              <button data-action="toggle-cd" class=${cd.active ? '' : 'primary'} ?disabled=${st.busy} @click=${() => toggleCd(!cd.active)}>${cd.active ? 'Turn off' : 'Turn on'}</button>
            </div>` : ''}`}
      </section>`;
  };

  const ready = (render) => {
    if (st.error && st.ct === undefined) return html`<section class="card">${errorBox(st.error, () => load())}</section>`;
    if (st.ct === undefined || st.ext === null) return html`<section class="card">${loading('Loading')}</section>`;
    return render();
  };

  return {
    load,
    /** The continuous training panel. */
    training: () => ready(ctCard),
    /** The shadow and comparison panel, for the deployment with its summary s (primary and shadow versions). */
    shadow: (deployment, s) => {
      d = deployment;
      return ready(() => shadowCard(s));
    },
    /** The continuous deployment panel. */
    deployment: () => ready(cdCard),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// ---- the comparison chart -----------------------------------------------------------------------------------------

const W = 640;
const H = 230;
const PAD = { l: 44, r: 12, t: 14, b: 28 };

/**
 * Both models' accuracy on the paired reviewed predictions, cumulated bucket by bucket since the shadow was set,
 * with the accuracy the shadow must reach (the primary's plus the promotion threshold) and the bucket where the
 * paired samples reach min_samples.
 */
export function comparisonChart(c, { threshold, mode, minSamples }) {
  const keys = ['paired_reviewed', 'both_correct', 'primary_only_correct', 'shadow_only_correct', 'compared', 'agreements'];
  // What came before the first bucket shown: the overall numbers less the buckets'.
  const acc = Object.fromEntries(keys.map((k) => [k, (c.overall[k] || 0) - c.buckets.reduce((n, b) => n + (b.stats[k] || 0), 0)]));
  let reachedAt = null;
  const points = c.buckets.map((b, i) => {
    keys.forEach((k) => { acc[k] += b.stats[k] || 0; });
    if (reachedAt === null && minSamples && acc.paired_reviewed >= minSamples) reachedAt = i;
    const n = acc.paired_reviewed;
    return {
      i,
      end: b.end,
      primary: n ? (acc.both_correct + acc.primary_only_correct) / n : null,
      shadow: n ? (acc.both_correct + acc.shadow_only_correct) / n : null,
      agreement: acc.compared ? acc.agreements / acc.compared : null,
      paired: n,
    };
  });
  const primaryNow = c.overall.primary_accuracy ? c.overall.primary_accuracy.value : null;
  const target = primaryNow === null || threshold === undefined || threshold === null ? null
    : Math.min(1, mode === 'relative' ? primaryNow * (1 + threshold) : primaryNow + threshold);
  const values = points.flatMap((p) => [p.primary, p.shadow, p.agreement]).filter((v) => v !== null);
  if (target !== null) values.push(target);
  if (values.length === 0) {
    return html`<p class="muted chart-empty" data-chart>No paired reviewed predictions yet: the chart fills in as people review predictions both models answered.</p>`;
  }
  const lo = Math.max(0, Math.floor((Math.min(...values) - 0.05) * 5) / 5);
  const hi = 1;
  const n = Math.max(1, points.length - 1);
  const x = (i) => (points.length === 1 ? (PAD.l + W - PAD.r) / 2 : PAD.l + (i / n) * (W - PAD.l - PAD.r));
  const y = (v) => PAD.t + (1 - (v - lo) / (hi - lo || 1)) * (H - PAD.t - PAD.b);
  const line = (key) => {
    let dPath = '';
    let pen = false;
    points.forEach((p) => {
      if (p[key] === null) {
        pen = false;
        return;
      }
      dPath += `${pen ? 'L' : 'M'}${x(p.i).toFixed(1)},${y(p[key]).toFixed(1)} `;
      pen = true;
    });
    return dPath.trim();
  };
  const dots = (key, cls) => points.filter((p) => p[key] !== null).map((p) => svg`<circle class=${cls} cx=${x(p.i)} cy=${y(p[key])} r="2.5"></circle>`);
  const ticks = [];
  for (let v = lo; v <= hi + 1e-9; v += (hi - lo) / 4) ticks.push(Math.round(v * 1000) / 1000);
  const time = (iso) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const labelsAt = [...new Set([0, Math.floor(points.length / 2), points.length - 1])].filter((i) => i >= 0 && points[i]);
  const last = [...points].reverse().find((p) => p.shadow !== null);
  const summary = `Cumulative accuracy on paired reviewed predictions: shadow ${fmtPercent(last?.shadow)}, primary ${fmtPercent(last?.primary)}`
    + `${target !== null ? `; promotion needs ${fmtPercent(target)}` : ''}`
    + `${minSamples ? `; ${fmtNumber(last?.paired ?? 0)} of ${fmtNumber(minSamples)} paired samples` : ''}.`;
  return html`
    <figure class="chart" data-chart>
      <svg viewBox="0 0 ${W} ${H}" role="img" aria-label=${summary} preserveAspectRatio="xMidYMid meet">
        ${ticks.map((t) => svg`
          <line class="grid" x1=${PAD.l} x2=${W - PAD.r} y1=${y(t)} y2=${y(t)}></line>
          <text class="axis" x=${PAD.l - 6} y=${y(t) + 4} text-anchor="end">${fmtPercent(t)}</text>`)}
        ${labelsAt.map((i) => svg`<text class="axis" x=${x(i)} y=${H - 8} text-anchor=${points.length === 1 ? 'middle' : i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle'}>${time(points[i].end)}</text>`)}
        ${target !== null ? svg`
          <line class="target" x1=${PAD.l} x2=${W - PAD.r} y1=${y(target)} y2=${y(target)} data-target=${target}></line>
          <text class="target-label" x=${W - PAD.r - 4} y=${y(target) - 5} text-anchor="end">promotion threshold ${fmtPercent(target)}</text>` : ''}
        ${reachedAt !== null ? svg`
          <line class="min-samples" x1=${x(reachedAt)} x2=${x(reachedAt)} y1=${PAD.t} y2=${H - PAD.b} data-min-samples-at=${reachedAt}></line>
          <text class="target-label" x=${x(reachedAt) + 4} y=${PAD.t + 10}>min_samples reached</text>` : ''}
        <path class="agreement" d=${line('agreement')}></path>
        <path class="primary" d=${line('primary')}></path>
        <path class="shadow" d=${line('shadow')}></path>
        ${dots('primary', 'primary-dot')}${dots('shadow', 'shadow-dot')}
      </svg>
      <figcaption class="legend">
        <span><i class="key key-shadow"></i> shadow accuracy</span>
        <span><i class="key key-primary"></i> primary accuracy</span>
        <span><i class="key key-agreement"></i> agreement</span>
        ${target !== null ? html`<span><i class="key key-target"></i> promotion threshold (primary ${mode === 'relative' ? '×' : '+'} ${mode === 'relative' ? fmtPercent(1 + threshold) : fmtPercent(threshold)})</span>` : ''}
        ${minSamples ? html`<span>${reachedAt !== null ? html`<i class="key key-min"></i> min_samples (${fmtNumber(minSamples)}) reached`
          : html`paired ${fmtNumber(last?.paired ?? 0)} / ${fmtNumber(minSamples)} min_samples`}</span>` : ''}
      </figcaption>
    </figure>`;
}
