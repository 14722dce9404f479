/** How far after Paythrough learned of a payment or refund a reported time may lie and still be believed. */
export const maxReportedTimeLeadMs = 300_000;

/**
 * Whose time (SPEC §7): the channel's time of a payment or refund when it reports one and it is plausible;
 * else the time Paythrough learned it. A time before the order's creation, or more than 300 s after Paythrough
 * learned of the event, is not believed: `drift` says so, for the order's TimeDrift flag.
 */
export function believedTime(
  reported: number | null | undefined,
  bounds: { notBefore: number; learnedAt: number },
): {
  time: number;
  drift: boolean;
} {
  if (reported === null || reported === undefined) return { time: bounds.learnedAt, drift: false };
  const plausible = reported >= bounds.notBefore && reported <= bounds.learnedAt + maxReportedTimeLeadMs;
  return plausible ? { time: reported, drift: false } : { time: bounds.learnedAt, drift: true };
}

const chinaOffset = '+08:00';

/**
 * A host's time (SPEC §7): `yyyyMMddHHmmss` in Asia/Shanghai (as the demo hosts send it; China keeps no daylight
 * saving time) or RFC 3339 with an offset. Undefined when it is neither.
 */
export function parseHostTime(text: string): number | undefined {
  const compact = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  const iso = compact
    ? `${compact[1]}-${compact[2]}-${compact[3]}T${compact[4]}:${compact[5]}:${compact[6]}${chinaOffset}`
    : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/i.test(text)
      ? text
      : undefined;
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2026-02-31 over into March: a time that does not round-trip was not a real one.
  if (compact && new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace(/\D/g, '') !== text) return undefined;
  return ms;
}
