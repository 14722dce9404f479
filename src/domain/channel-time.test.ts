import { describe, expect, it } from 'vitest';
import { believedTime, maxReportedTimeLeadMs, parseHostTime } from './channel-time.ts';

describe('believedTime', () => {
  const bounds = { notBefore: 1_000_000, learnedAt: 2_000_000 };
  it("takes the channel's time when it lies between the order's creation and 300 s after Paythrough learned it", () => {
    expect(believedTime(1_500_000, bounds)).toEqual({ time: 1_500_000, drift: false });
    expect(believedTime(1_000_000, bounds)).toEqual({ time: 1_000_000, drift: false });
    expect(believedTime(2_000_000 + maxReportedTimeLeadMs, bounds)).toEqual({ time: 2_000_000 + maxReportedTimeLeadMs, drift: false });
  });
  it('uses the time Paythrough learned it, flagged, for a time before the order or too far ahead; unflagged when none', () => {
    expect(believedTime(999_999, bounds)).toEqual({ time: 2_000_000, drift: true });
    expect(believedTime(2_000_001 + maxReportedTimeLeadMs, bounds)).toEqual({ time: 2_000_000, drift: true });
    expect(believedTime(null, bounds)).toEqual({ time: 2_000_000, drift: false });
  });
});

describe('parseHostTime', () => {
  it('reads yyyyMMddHHmmss as Asia/Shanghai time and RFC 3339 with its offset', () => {
    expect(parseHostTime('20260115120000')).toBe(Date.UTC(2026, 0, 15, 4, 0, 0));
    expect(parseHostTime('2026-01-15T12:00:00+08:00')).toBe(Date.UTC(2026, 0, 15, 4, 0, 0));
    expect(parseHostTime('2026-01-15T04:00:00.250Z')).toBe(Date.UTC(2026, 0, 15, 4, 0, 0, 250));
  });
  it('refuses anything else, and days that do not exist', () => {
    for (const text of ['', '2026011512000', '20260231120000', '20261315120000', '2026-01-15 12:00:00', '2026-01-15T12:00:00', 'now']) {
      expect(parseHostTime(text), text).toBeUndefined();
    }
  });
});
