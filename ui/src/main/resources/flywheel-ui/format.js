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
