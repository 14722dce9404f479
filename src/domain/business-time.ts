/** Business days in an IANA time zone (PAYTHROUGH_TIMEZONE), as UTC millisecond ranges. Pure. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

// The last second asked per zone: formatting is the slow part, and a busy gateway asks about the same second often.
const lastWallClock = new Map<string, { second: number; wall: Readonly<WallClock> }>();

function wallClockOf(ms: number, timeZone: string): Readonly<WallClock> {
  const second = Math.floor(ms / 1000);
  const last = lastWallClock.get(timeZone);
  if (last?.second === second) return last.wall;
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
  lastWallClock.set(timeZone, { second, wall });
  return wall;
}

/** The zone's offset from UTC at an instant, in ms (Asia/Shanghai: +8 h). */
function offsetAt(ms: number, timeZone: string): number {
  const wall = wallClockOf(ms, timeZone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The UTC instant of a wall-clock time in the zone (DST-safe: the offset is re-read at the result). */
function instantOf(year: number, month: number, day: number, timeZone: string, hour = 0, minute = 0): number {
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  const first = naive - offsetAt(naive, timeZone);
  return naive - offsetAt(first, timeZone);
}

const midnightOf = (year: number, month: number, day: number, timeZone: string) => instantOf(year, month, day, timeZone);

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `YYYY-MM-DD` of the business day an instant falls on. */
export function businessDateOf(ms: number, timeZone: string): string {
  const wall = wallClockOf(ms, timeZone);
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}`;
}

/** `YYYY-MM-DD HH:mm:ss` in the zone, as bills show times. */
export function businessDateTimeOf(ms: number, timeZone: string): string {
  const wall = wallClockOf(ms, timeZone);
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)} ${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}`;
}

/** RFC 3339 with the zone's offset, e.g. `2026-01-15T12:00:00+08:00`, as v3 answers show times. */
export function rfc3339In(ms: number, timeZone: string): string {
  const offsetMinutes = Math.round(offsetAt(ms, timeZone) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const absolute = Math.abs(offsetMinutes);
  return `${businessDateTimeOf(ms, timeZone).replace(' ', 'T')}${sign}${pad(Math.floor(absolute / 60))}:${pad(absolute % 60)}`;
}

// Days asked again and again (payment data refreshes the same few days after every payment): each costs four formattings.
const knownDayRanges = new Map<string, Readonly<{ startMs: number; endMs: number }> | undefined>();

/** The [start, end) UTC range of a business day `YYYY-MM-DD`, or undefined for a malformed date. */
export function businessDayRange(date: string, timeZone: string): Readonly<{ startMs: number; endMs: number }> | undefined {
  const key = `${timeZone} ${date}`;
  if (knownDayRanges.has(key)) return knownDayRanges.get(key);
  const range = dayRangeOf(date, timeZone);
  if (knownDayRanges.size >= 10_000) knownDayRanges.clear();
  knownDayRanges.set(key, range);
  return range;
}

function dayRangeOf(date: string, timeZone: string): { startMs: number; endMs: number } | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  const next = new Date(Date.UTC(year, month - 1, day + 1));
  return {
    startMs: midnightOf(year, month, day, timeZone),
    endMs: midnightOf(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone),
  };
}

/** `YYYY-MM-DD` plus `days` calendar days. */
export function addCalendarDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const moved = new Date(Date.UTC(year, month - 1, day + days));
  return `${pad(moved.getUTCFullYear(), 4)}-${pad(moved.getUTCMonth() + 1)}-${pad(moved.getUTCDate())}`;
}

/** The UTC instant of `HH:MM` wall-clock time on a business day `YYYY-MM-DD` (DST days included). */
export function businessTimeOn(date: string, time: string, timeZone: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  return instantOf(year, month, day, timeZone, hour, minute);
}
