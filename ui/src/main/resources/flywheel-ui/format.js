// Numbers and times for people.

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function fmtNumber(n) {
  return n === null || n === undefined ? '—' : number.format(n);
}

export function fmtTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

export function fmtAgo(iso) {
  if (!iso) return '—';
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [7, 'day'], [4.35, 'week'], [12, 'month'], [Infinity, 'year']];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return fmtTime(iso);
}

export function fmtValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A share such as a confidence: 0.8234 → "82.3%". */
export function fmtPercent(x) {
  return x === null || x === undefined ? '—' : percent.format(x);
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${number.format(i === 0 ? v : Math.round(v * 10) / 10)} ${units[i]}`;
}

/** A count that stopped at a page: 500 with more behind it reads "500+". */
export function fmtAtLeast(n, more) {
  return more ? `${fmtNumber(n)}+` : fmtNumber(n);
}

/** Who did something, as people read it: "rita (tok_…)" becomes "rita". */
export function fmtActor(actor) {
  return actor ? actor.replace(/ \((tok|run)_[^)]*\)$/, '') : '—';
}

/** How long something took: 0.8 s, 42 s, 3 min 5 s, 2 h 10 min. */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const s = ms / 1000;
  if (s < 10) return `${number.format(Math.round(s * 10) / 10)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m - h * 60} min`;
}

/** The time between two instants (the second defaults to now). */
export function fmtBetween(fromIso, toIso) {
  if (!fromIso) return '—';
  return fmtDuration((toIso ? new Date(toIso) : new Date()).getTime() - new Date(fromIso).getTime());
}

/** A p-value: 0.0312, or "< 0.0001". */
export function fmtP(p) {
  if (p === null || p === undefined) return '—';
  if (p >= 0.99995) return '1';
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}

/** Milliseconds of latency: "12.3 ms". */
export function fmtMs(ms) {
  return ms === null || ms === undefined ? '—' : `${number.format(ms < 10 ? Math.round(ms * 100) / 100 : Math.round(ms * 10) / 10)} ms`;
}

/** An ISO-8601 duration (PT10M) for people: "10m". */
export function fmtIsoDuration(iso) {
  if (!iso) return '—';
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$/.exec(iso);
  if (!m) return iso;
  const parts = [];
  if (m[1]) parts.push(`${m[1]}d`);
  if (m[2]) parts.push(`${m[2]}h`);
  if (m[3]) parts.push(`${m[3]}m`);
  if (m[4]) parts.push(`${m[4]}s`);
  return parts.length ? parts.join(' ') : '0s';
}

/** An ISO-8601 duration (PT1H30M) in the short form the API also accepts (90m), for form fields. */
export function shortDuration(iso) {
  if (!iso) return '';
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(iso);
  if (!m) return iso;
  const seconds = (Number(m[1] || 0) * 86400) + (Number(m[2] || 0) * 3600) + (Number(m[3] || 0) * 60) + Number(m[4] || 0);
  if (seconds % 86400 === 0 && seconds) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0 && seconds) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const precise = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });

/** A value where small numbers matter (settings, evidence, p-values): 0.0001 stays 0.0001. */
export function fmtPrecise(v) {
  if (typeof v !== 'number') return fmtValue(v);
  if (Number.isInteger(v)) return number.format(v);
  return Math.abs(v) < 0.001 ? String(Number(v.toPrecision(3))) : precise.format(v);
}
