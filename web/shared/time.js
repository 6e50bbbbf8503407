// time.js - dates in the user's locale and time zone, and the expiry choices
// that both consoles offer: 1, 7, 15, 30, 90 days, 1 year, or a custom date.

const DAY = 86400000;

const shortFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const longFmt = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});
const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

// The server's clock decides what "in the future" and "within the limit"
// mean; when this computer's clock is off by more than a few seconds, the
// consoles count from the server's time instead.
let skew = 0;

export function setServerTime(iso) {
  const d = Date.parse(iso) - Date.now();
  skew = Number.isFinite(d) && Math.abs(d) > 5000 ? d : 0;
}

export const now = () => Date.now() + skew;

export const formatDateTime = (iso) => shortFmt.format(new Date(iso));
export const formatDate = (d) => dateFmt.format(d);
export const formatLong = (d) => longFmt.format(d);

// "in 3 days", "5 minutes ago", "tomorrow".
export function formatRelative(iso, from = now()) {
  const diff = Date.parse(iso) - from;
  const abs = Math.abs(diff);
  // [unit, its length, the least time said in it]: "in 30 days" rather
  // than "next month", "in 1 day" rather than "in 24 hours".
  const units = [
    ['year', 365 * DAY, 350 * DAY],
    ['month', 30 * DAY, 45 * DAY],
    ['day', DAY, 23.5 * 3600000],
    ['hour', 3600000, 59.5 * 60000],
    ['minute', 60000, 59500],
  ];
  for (const [unit, size, least] of units) {
    if (abs >= least) return rtf.format(Math.round(diff / size), unit);
  }
  return rtf.format(Math.round(diff / 1000), 'second');
}

export const isPast = (iso, from = now()) => Date.parse(iso) <= from;

// Whether a token that has not expired expires within 7 days: what the
// API's status=expiring selects (TSR_EXPIRING_SOON in core/limits.h).
export const SOON_DAYS = 7;
export function expiresSoon(iso, from = now()) {
  const left = Date.parse(iso) - from;
  return left > 0 && left <= SOON_DAYS * DAY;
}

const pad = (n) => String(n).padStart(2, '0');

// "2026-12-30" for the local calendar day of d.
export const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

// The last second of a local calendar day.
export function endOfDay(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d, 23, 59, 59);
}

// "2026-12-30T23:59:59-03:00": local time with its offset, as the API takes it.
export function withOffset(d) {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return (
    `${ymd(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`
  );
}

export const PRESETS = [
  { value: '1', label: '1 day', days: 1 },
  { value: '7', label: '7 days', days: 7 },
  { value: '15', label: '15 days', days: 15 },
  { value: '30', label: '30 days', days: 30 },
  { value: '90', label: '90 days', days: 90 },
  { value: '365', label: '1 year', years: 1 },
];
export const CUSTOM = 'custom';
export const DEFAULT_PRESET = '30';

// When a preset ends, counted from `from`; a year is a calendar year.
export function presetEnd(value, from = now()) {
  const p = PRESETS.find((x) => x.value === value);
  if (!p) return null;
  const d = new Date(Math.floor(from / 1000) * 1000);
  if (p.years) d.setFullYear(d.getFullYear() + p.years);
  else d.setTime(d.getTime() + p.days * DAY);
  return d;
}

// Whether an expiry at d fits the server's limit (maxDays 0: no limit).
export const withinLimit = (d, maxDays, from = now()) =>
  maxDays <= 0 || d.getTime() - from <= maxDays * DAY;

// The days a custom date may take: from tomorrow to the last day whose end
// still fits the limit. min > max when no day does.
export function customRange(maxDays, from = now()) {
  const t = new Date(from);
  t.setDate(t.getDate() + 1);
  const min = ymd(t);
  if (maxDays <= 0) return { min, max: '9999-12-31' };
  const limit = from + maxDays * DAY;
  const last = new Date(limit);
  if (endOfDay(ymd(last)).getTime() > limit) last.setDate(last.getDate() - 1);
  return { min, max: ymd(last) };
}
