import { describe, expect, it } from 'vitest';
import { addCalendarDays, businessDateOf, businessDateTimeOf, businessDayRange, businessTimeOn, rfc3339In } from './business-time.ts';

describe('business days', () => {
  it('maps a Shanghai business day to its UTC range', () => {
    expect(businessDayRange('2026-01-15', 'Asia/Shanghai')).toEqual({
      startMs: Date.UTC(2026, 0, 14, 16, 0, 0),
      endMs: Date.UTC(2026, 0, 15, 16, 0, 0),
    });
  });

  it('handles a daylight-saving day (23 hours long)', () => {
    const range = businessDayRange('2026-03-08', 'America/New_York')!;
    expect(range.startMs).toBe(Date.UTC(2026, 2, 8, 5, 0, 0));
    expect(range.endMs - range.startMs).toBe(23 * 60 * 60 * 1000);
  });

  it('refuses malformed and impossible dates', () => {
    expect(businessDayRange('2026-02-30', 'UTC')).toBeUndefined();
    expect(businessDayRange('20260115', 'UTC')).toBeUndefined();
  });

  it('names the business date and time of an instant', () => {
    const instant = Date.UTC(2026, 0, 15, 17, 30, 5);
    expect(businessDateOf(instant, 'Asia/Shanghai')).toBe('2026-01-16');
    expect(businessDateOf(instant, 'UTC')).toBe('2026-01-15');
    expect(businessDateTimeOf(instant, 'Asia/Shanghai')).toBe('2026-01-16 01:30:05');
    expect(rfc3339In(instant, 'Asia/Shanghai')).toBe('2026-01-16T01:30:05+08:00');
    expect(rfc3339In(instant, 'America/New_York')).toBe('2026-01-15T12:30:05-05:00');
  });

  it('places a wall-clock cut-off on its day, daylight-saving days included (the reconciliation cut-off)', () => {
    expect(businessTimeOn('2026-01-16', '10:00', 'Asia/Shanghai')).toBe(Date.UTC(2026, 0, 16, 2, 0, 0));
    // New York springs forward at 02:00 on 2026-03-08 and falls back on 2026-11-01: 10:00 is 14:00 or 15:00 UTC.
    expect(businessTimeOn('2026-03-07', '10:00', 'America/New_York')).toBe(Date.UTC(2026, 2, 7, 15, 0, 0));
    expect(businessTimeOn('2026-03-08', '10:00', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 14, 0, 0));
    expect(businessTimeOn('2026-11-01', '10:00', 'America/New_York')).toBe(Date.UTC(2026, 10, 1, 15, 0, 0));
    expect(businessTimeOn('2026-11-01', '00:00', 'America/New_York')).toBe(businessDayRange('2026-11-01', 'America/New_York')!.startMs);
  });

  it('moves calendar days across months and years', () => {
    expect(addCalendarDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addCalendarDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addCalendarDays('2028-03-01', -1)).toBe('2028-02-29');
    expect(addCalendarDays('2026-01-15', -7)).toBe('2026-01-08');
  });
});
