import { isIPv4, isIPv6 } from 'node:net';

/**
 * The part of a client address a per-address limit counts: an IPv4 address (also written IPv4-mapped, `::ffff:a.b.c.d`)
 * as it is, an IPv6 address as its /64 (`2001:db8:0:1::/64`), since one subscriber or host is usually handed a whole /64
 * and could otherwise take a fresh address for every attempt. Anything else (no address) is kept as it is.
 */
export function addressLimitKey(address: string): string {
  const zoneless = address.replace(/%.*$/, '');
  if (isIPv4(zoneless)) return zoneless;
  if (!isIPv6(zoneless)) return address;
  const groups = ipv6Groups(zoneless);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${compressedPrefix(groups.slice(0, 4))}/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail turned into two groups). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...zeros, ...back];
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
