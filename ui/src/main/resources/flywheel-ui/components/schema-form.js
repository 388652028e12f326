// A form rendered from an extension's config schema (GET /api/extensions: name, kind, required, default_value,
// description, allowed_values, minimum, maximum), the way a Jenkins Descriptor renders its config page: triggers,
// promoters and provisioners all use it, so a plugin gets its form without UI code of its own.
//
//   schemaFields(schema, values, { prefix, disabled })  → the fields, inside a container marked data-schema-form
//   readSchemaValues(container, schema)                 → the values typed, empty ones left out so defaults apply;
//                                                          throws a SchemaFormError naming the field when one is wrong
import { html } from 'lit-html';
import { fmtPrecise, shortDuration } from '../format.js';

export class SchemaFormError extends Error {
  constructor(field, message) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

const KIND_HINTS = {
  duration: 'A duration such as 30s, 5m, 2h or 7d (or ISO-8601 such as PT5M).',
  cron: 'A Quartz cron expression with seconds, such as 0 0 3 ? * MON.',
  string_list: 'One value per line.',
  string_map: 'One key=value per line.',
};

const DURATION = /^\s*(\d+\s*(ms|s|m|h|d)|P[0-9A-Z.]+)\s*$/i;

/** A value as the field shows it: lists one per line, maps key=value per line. */
function asText(kind, v) {
  if (v === null || v === undefined) return '';
  if (kind === 'string_list' && Array.isArray(v)) return v.join('\n');
  if (kind === 'string_map' && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}=${x}`).join('\n');
  if (kind === 'duration') return shortDuration(String(v));
  return String(v);
}

function placeholder(s, value) {
  // The server never sends a secret back, only "******" when one is set; an empty field keeps what is stored.
  if (s.kind === 'secret') {
    if (value !== null && value !== undefined && value !== '') return 'set; leave empty to keep it';
    return s.required ? '' : 'leave empty to keep it unset';
  }
  if (s.default_value === null || s.default_value === undefined) return '';
  const text = asText(s.kind, s.default_value);
  return s.kind === 'string_list' || s.kind === 'string_map' ? text : `default: ${text}`;
}

function limits(s) {
  const parts = [];
  if (s.minimum !== null && s.minimum !== undefined) parts.push(`at least ${fmtPrecise(s.minimum)}`);
  if (s.maximum !== null && s.maximum !== undefined) parts.push(`at most ${fmtPrecise(s.maximum)}`);
  const text = parts.join(', ');
  return text ? `${text[0].toUpperCase()}${text.slice(1)}.` : '';
}

function field(s, value, id, disabled) {
  const common = { id, name: s.name };
  const text = asText(s.kind, value);
  const described = `${id}-help`;
  switch (s.kind) {
    case 'boolean': {
      const checked = value === null || value === undefined ? s.default_value === true : value === true;
      return html`<input type="checkbox" id=${common.id} name=${common.name} data-setting=${s.name} data-kind=${s.kind}
                         .checked=${checked} ?disabled=${disabled} aria-describedby=${described}>`;
    }
    case 'enum':
      return html`
        <select id=${common.id} name=${common.name} data-setting=${s.name} data-kind=${s.kind} ?disabled=${disabled}
                ?required=${s.required && s.default_value == null} aria-describedby=${described}>
          <option value="" ?selected=${!text}>${s.default_value != null ? `default (${s.default_value})` : 'Choose…'}</option>
          ${s.allowed_values.map((v) => html`<option value=${v} ?selected=${v === text}>${v}</option>`)}
        </select>`;
    case 'integer':
    case 'number':
      return html`
        <input type="number" id=${common.id} name=${common.name} data-setting=${s.name} data-kind=${s.kind}
               step=${s.kind === 'integer' ? '1' : 'any'} min=${s.minimum ?? ''} max=${s.maximum ?? ''}
               .value=${text} placeholder=${placeholder(s)} ?required=${s.required} ?disabled=${disabled}
               aria-describedby=${described}>`;
    case 'string_list':
    case 'string_map':
      return html`
        <textarea id=${common.id} name=${common.name} data-setting=${s.name} data-kind=${s.kind} rows="3"
                  .value=${text} placeholder=${placeholder(s)} ?required=${s.required} ?disabled=${disabled}
                  aria-describedby=${described} spellcheck="false"></textarea>`;
    case 'secret':
      return html`
        <input type="password" id=${common.id} name=${common.name} data-setting=${s.name} data-kind=${s.kind}
               autocomplete="new-password" placeholder=${placeholder(s, value)}
               ?required=${s.required && (value === null || value === undefined || value === '')} ?disabled=${disabled}
               aria-describedby=${described}>`;
    default: // string, duration, cron, and kinds this UI does not know yet
      return html`
        <input type="text" id=${common.id} name=${common.name} data-setting=${s.name} data-kind=${s.kind}
               .value=${text} placeholder=${placeholder(s)} ?required=${s.required} ?disabled=${disabled}
               spellcheck="false" aria-describedby=${described}>`;
  }
}

/**
 * The fields of a schema, filled with the current values.
 *
 * @param schema the extension's config_schema
 * @param values the current settings (may be null)
 * @param prefix makes the field ids unique on the page
 * @param disabled read-only
 */
export function schemaFields(schema, values, { prefix = 'cfg', disabled = false } = {}) {
  const v = values || {};
  if (!schema || schema.length === 0) return html`<p class="muted" data-schema-form>No settings.</p>`;
  return html`
    <div class="schema-form" data-schema-form>
      ${schema.map((s) => {
        const id = `${prefix}-${s.name}`;
        const help = [s.description, KIND_HINTS[s.kind], limits(s)].filter(Boolean).join(' ');
        const isBool = s.kind === 'boolean';
        return html`
          <div class="schema-field ${isBool ? 'schema-bool' : ''} ${s.kind === 'string_list' || s.kind === 'string_map' ? 'schema-wide' : ''}"
               data-field=${s.name}>
            <label for=${id} class=${isBool ? 'inline' : ''}>
              ${isBool ? field(s, v[s.name], id, disabled) : ''}
              <span class="schema-label"><code>${s.name}</code>${s.required ? html`<span class="req" aria-hidden="true"> *</span><span class="sr-only"> (required)</span>` : ''}
                <span class="schema-kind">${s.kind.replace('_', ' ')}</span></span>
              ${isBool ? '' : field(s, v[s.name], id, disabled)}
            </label>
            <p class="hint" id="${id}-help">${help}</p>
          </div>`;
      })}
    </div>`;
}

/** The values in the fields of that schema under the container; empty fields are left out. */
export function readSchemaValues(container, schema) {
  const out = {};
  for (const s of schema || []) {
    const el = container.querySelector(`[data-setting="${s.name}"]`);
    if (!el) continue;
    if (s.kind === 'boolean') {
      // Only a choice that differs from the default is sent, so a later change of default applies.
      if (s.default_value === null || s.default_value === undefined || el.checked !== s.default_value) out[s.name] = el.checked;
      continue;
    }
    const raw = el.value;
    if (raw === undefined || raw.trim() === '') {
      if (s.required && s.default_value == null && s.kind !== 'secret') throw new SchemaFormError(s.name, 'is required');
      continue;
    }
    const text = raw.trim();
    switch (s.kind) {
      case 'integer': {
        if (!/^-?\d+$/.test(text)) throw new SchemaFormError(s.name, 'must be a whole number');
        out[s.name] = Number.parseInt(text, 10);
        break;
      }
      case 'number': {
        const n = Number(text);
        if (!Number.isFinite(n)) throw new SchemaFormError(s.name, 'must be a number');
        out[s.name] = n;
        break;
      }
      case 'string_list':
        out[s.name] = raw.split('\n').map((l) => l.trim()).filter(Boolean);
        break;
      case 'string_map': {
        const map = {};
        raw.split('\n').map((l) => l.trim()).filter(Boolean).forEach((line) => {
          const eq = line.indexOf('=');
          if (eq <= 0) throw new SchemaFormError(s.name, `"${line}" is not key=value`);
          map[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
        });
        out[s.name] = map;
        break;
      }
      case 'duration':
        if (!DURATION.test(text)) throw new SchemaFormError(s.name, 'must be a duration such as 30s, 5m, 2h or 7d');
        out[s.name] = text;
        break;
      case 'cron':
        if (text.split(/\s+/).length < 6) throw new SchemaFormError(s.name, 'a Quartz cron has at least 6 fields (seconds first)');
        out[s.name] = text;
        break;
      case 'secret':
        out[s.name] = raw; // as typed: secrets may carry spaces
        break;
      default:
        out[s.name] = text;
    }
  }
  return out;
}

/** Settings as a short list for read-only views: "threshold = 1,000 · window_size = 500". */
export const settingsList = (schema, values) => {
  const v = values || {};
  const names = schema && schema.length ? schema.map((s) => s.name) : Object.keys(v);
  const kinds = Object.fromEntries((schema || []).map((s) => [s.name, s.kind]));
  const shown = names.filter((n) => v[n] !== undefined && v[n] !== null);
  if (shown.length === 0) return html`<span class="muted">defaults</span>`;
  return html`<ul class="kv">${shown.map((n) => html`
    <li><code>${n}</code> <span class="kv-value">${kinds[n] === 'secret' ? '••••••' : kinds[n] === 'duration' ? shortDuration(v[n]) : fmtPrecise(v[n])}</span></li>`)}</ul>`;
};
