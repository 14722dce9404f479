import { parseAddress } from '../../net/address-policy.ts';

/**
 * The part of a client address a per-address limit counts: an IPv4 address (also written IPv4-mapped, `::ffff:a.b.c.d`)
 * as it is, an IPv6 address as its /64 (`2001:db8:0:1::/64`), since one subscriber or host is usually handed a whole /64
 * and could otherwise take a fresh address for every attempt. Anything else (no address) is kept as it is.
 */
export function addressLimitKey(address: string): string {
  const parsed = parseAddress(address);
  if (!parsed) return address;
  const { bytes } = parsed;
  const mapped = parsed.family === 6 && bytes.subarray(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (parsed.family === 4 || mapped) return [...bytes.subarray(parsed.family === 4 ? 0 : 12)].join('.');
  const groups = [0, 2, 4, 6].map((offset) => (bytes[offset]! << 8) | bytes[offset + 1]!);
  return `${compressedPrefix(groups)}/64`;
}

/** Four groups followed by 64 zero bits, written as RFC 5952 would (the longest run of two or more zero groups as `::`). */
function compressedPrefix(prefix: number[]): string {
  const groups = [...prefix, 0, 0, 0, 0];
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length; start++) {
    let length = 0;
    while (start + length < groups.length && groups[start + length] === 0) length++;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
    start += length;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
