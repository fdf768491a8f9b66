// Wall-clock time in the workspace's time zone, with the browser's own Intl data: the
// calendar lays posts out by the workspace's days, not the viewer's.

const formatters = new Map();

function fmt(tz) {
  if (!formatters.has(tz)) {
    formatters.set(tz, new Intl.DateTimeFormat('en-GB', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short',
    }));
  }
  return formatters.get(tz);
}

const WEEKDAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/// The wall-clock parts of instant `ms` in `tz`; `wd` is 0 for Monday.
export function parts(ms, tz) {
  const p = {};
  for (const { type, value } of fmt(tz).formatToParts(new Date(ms))) p[type] = value;
  return {
    y: +p.year, m: +p.month, d: +p.day, h: +p.hour % 24, mi: +p.minute, s: +p.second,
    wd: WEEKDAYS[p.weekday],
  };
}

function offset(ms, tz) {
  const p = parts(ms, tz);
  return Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s) - Math.floor(ms / 1000) * 1000;
}

/// The instant that reads y-m-d h:mi in `tz` (the later one when a clock change repeats it,
/// the first valid one after a gap).
export function wallToUtc(y, m, d, h = 0, mi = 0, tz = 'UTC') {
  const guess = Date.UTC(y, m - 1, d, h, mi);
  let t = guess - offset(guess, tz);
  t = guess - offset(t, tz);
  return t;
}

export const pad = (n) => String(n).padStart(2, '0');
export const dateKey = (p) => `${p.y}-${pad(p.m)}-${pad(p.d)}`;
export const timeText = (ms, tz) => { const p = parts(ms, tz); return `${pad(p.h)}:${pad(p.mi)}`; };

/// y, m, d moved by `days` (calendar arithmetic, no time zone involved).
export function addDays({ y, m, d }, days) {
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), wd: (t.getUTCDay() + 6) % 7 };
}

export function weekdayOf({ y, m, d }) {
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}

export function longDate(ms, tz) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: tz, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  }).format(new Date(ms));
}

/// `YYYY-MM-DDTHH:MM` for a datetime-local input, in `tz`.
export function toLocalInput(ms, tz) {
  const p = parts(ms, tz);
  return `${dateKey(p)}T${pad(p.h)}:${pad(p.mi)}`;
}

/// The instant a datetime-local input's value names in `tz`, or null.
export function fromLocalInput(value, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || '');
  if (!m) return null;
  return wallToUtc(+m[1], +m[2], +m[3], +m[4], +m[5], tz);
}

export const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];
export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}
