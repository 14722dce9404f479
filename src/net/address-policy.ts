import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Where outbound calls (notify URLs, channel and webhook URLs) may go (SPEC §4.2, §6.1): public
 * addresses only, unless the target's superapp is on the sandbox while the sandbox is on (then plain
 * http and loopback too), or PAYTHROUGH_ALLOW_PRIVATE_TARGETS lists the address (CIDRs, or `*`).
 */
export type AddressClass =
  'public' | 'loopback' | 'private' | 'shared' | 'link_local' | 'unique_local' | 'unspecified' | 'multicast' | 'reserved';

interface ParsedAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[index] = Number(part);
  }
  return bytes;
}

function parseIPv6(text: string): Uint8Array | undefined {
  let rest = text;
  const tail: number[] = [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes the last two groups.
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    rest = text.slice(0, lastColon + 1);
    if (!rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const halves = rest.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = toGroups(halves[0]!);
  const back = halves.length === 2 ? toGroups(halves[1]!) : [];
  const groupCount = head.length + back.length + tail.length;
  if (halves.length === 1 && groupCount !== 8) return undefined;
  if (halves.length === 2 && groupCount > 7) return undefined;
  const groups: number[] = [];
  for (const group of head) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    groups.push(parseInt(group, 16));
  }
  if (halves.length === 2) for (let i = 0; i < 8 - groupCount; i += 1) groups.push(0);
  for (const group of back) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    groups.push(parseInt(group, 16));
  }
  groups.push(...tail);
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 or IPv6 literal (brackets and a zone id are stripped); undefined if it is not one. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) {
    const bytes = parseIPv4(bare);
    return bytes ? { family: 4, bytes } : undefined;
  }
  if (family === 6) {
    const bytes = parseIPv6(bare);
    return bytes ? { family: 6, bytes } : undefined;
  }
  return undefined;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[], bits: number): boolean => {
  for (let bit = 0; bit < bits; bit += 1) {
    const byte = Math.floor(bit / 8);
    const mask = 0x80 >> (bit % 8);
    if ((bytes[byte]! & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
};

function classifyIPv4(b: Uint8Array): AddressClass {
  const in4 = (prefix: number[], bits: number) => startsWith(b, prefix, bits);
  if (in4([0], 8)) return 'unspecified';
  if (in4([127], 8)) return 'loopback';
  if (in4([10], 8) || in4([172, 16], 12) || in4([192, 168], 16)) return 'private';
  if (in4([100, 64], 10)) return 'shared';
  if (in4([169, 254], 16)) return 'link_local';
  if (in4([224], 4)) return 'multicast';
  if (
    in4([240], 4) || // reserved, broadcast included
    in4([192, 0, 0], 24) || // IETF protocol assignments
    in4([192, 0, 2], 24) || // documentation
    in4([198, 51, 100], 24) ||
    in4([203, 0, 113], 24) ||
    in4([198, 18], 15) || // benchmarking
    in4([192, 88, 99], 24) // 6to4 relay anycast
  ) {
    return 'reserved';
  }
  return 'public';
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64, 6to4), if any; deprecated IPv4-compatible ::a.b.c.d is reserved. */
function embeddedIPv4(b: Uint8Array): Uint8Array | undefined {
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return b.slice(12, 16); // ::ffff:0:0/96
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b], 96)) return b.slice(12, 16); // 64:ff9b::/96 NAT64
  if (startsWith(b, [0x20, 0x02], 16)) return b.slice(2, 6); // 2002::/16 6to4
  return undefined;
}

function classifyIPv6(b: Uint8Array): AddressClass {
  const in6 = (prefix: number[], bits: number) => startsWith(b, prefix, bits);
  if (b.every((x) => x === 0)) return 'unspecified';
  if (b.subarray(0, 15).every((x) => x === 0) && b[15] === 1) return 'loopback';
  const v4 = embeddedIPv4(b);
  if (v4) return classifyIPv4(v4);
  if (in6([0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return 'private'; // local-use NAT64
  if (in6([0xfc], 7)) return 'unique_local';
  if (in6([0xfe, 0x80], 10)) return 'link_local';
  if (in6([0xfe, 0xc0], 10)) return 'private'; // deprecated site-local
  if (in6([0xff], 8)) return 'multicast';
  if (in6([0x20, 0x01, 0x0d, 0xb8], 32)) return 'reserved'; // documentation
  if (in6([0x20, 0x01, 0x00, 0x00], 32)) return 'reserved'; // Teredo: the real peer is hidden
  if (in6([0x20, 0x01, 0x00, 0x00], 23)) return 'reserved'; // other IETF protocol assignments
  if (in6([0x20], 3)) return 'public'; // 2000::/3 global unicast
  return 'reserved';
}

/** The class of an IP literal; anything unparseable is `reserved` (never allowed by class). */
export function classifyAddress(address: string): AddressClass {
  const parsed = parseAddress(address);
  if (!parsed) return 'reserved';
  return parsed.family === 4 ? classifyIPv4(parsed.bytes) : classifyIPv6(parsed.bytes);
}

/** IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it is; others unchanged. */
function normalizeForMatching(parsed: ParsedAddress): ParsedAddress {
  if (parsed.family === 6 && parsed.bytes.subarray(0, 10).every((x) => x === 0) && parsed.bytes[10] === 0xff && parsed.bytes[11] === 0xff) {
    return { family: 4, bytes: parsed.bytes.slice(12, 16) };
  }
  return parsed;
}

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  bits: number;
  text: string;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128); throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [addressText, bitsText, extra] = text.trim().split('/');
  const parsed = addressText ? parseAddress(addressText) : undefined;
  if (!parsed || extra !== undefined) throw new Error(`"${text}" is not a CIDR`);
  const normalized = normalizeForMatching(parsed);
  const max = normalized.family === 4 ? 32 : 128;
  let bits = bitsText === undefined ? max : Number(bitsText);
  if (bitsText !== undefined && !/^[0-9]{1,3}$/.test(bitsText)) throw new Error(`"${text}" is not a CIDR`);
  // A mapped-IPv6 CIDR (::ffff:10.0.0.0/104) is the IPv4 CIDR it covers.
  if (parsed.family === 6 && normalized.family === 4 && bitsText !== undefined) bits -= 96;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`"${text}" has an invalid prefix length`);
  return { family: normalized.family, bytes: normalized.bytes, bits, text: text.trim() };
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  const normalized = normalizeForMatching(parsed);
  return normalized.family === cidr.family && startsWith(normalized.bytes, [...cidr.bytes], cidr.bits);
}

export interface TargetPolicy {
  /** From PAYTHROUGH_ALLOW_PRIVATE_TARGETS: CIDRs, or `*` for any address. */
  allowPrivateTargets: readonly string[];
  /** The target's superapp uses the sandbox channel and the sandbox is on: plain http and loopback are allowed. */
  sandboxRelaxed: boolean;
}

export interface AddressDecision {
  allowed: boolean;
  addressClass: AddressClass;
}

/** Whether one resolved address may be connected to under a policy. */
export function decideAddress(address: string, policy: TargetPolicy): AddressDecision {
  const addressClass = classifyAddress(address);
  if (addressClass === 'public') return { allowed: true, addressClass };
  if (addressClass === 'loopback' && policy.sandboxRelaxed) return { allowed: true, addressClass };
  for (const entry of policy.allowPrivateTargets) {
    if (entry.trim() === '*') return { allowed: true, addressClass };
    try {
      if (cidrContains(parseCidr(entry), address)) return { allowed: true, addressClass };
    } catch {
      // A malformed entry allows nothing.
    }
  }
  return { allowed: false, addressClass };
}

export class TargetRefusedError extends Error {
  override name = 'TargetRefusedError';
  constructor(
    message: string,
    readonly reason: 'url' | 'scheme' | 'credentials' | 'unresolvable' | 'address',
  ) {
    super(message);
  }
}

export interface ResolvedTarget {
  url: URL;
  /** The host name as written (no brackets), for the Host header and TLS server name. */
  hostname: string;
  /** The first checked address. */
  address: string;
  family: 4 | 6;
  /** Every address the name resolved to, all checked: the connection may use these and no other. */
  addresses: Array<{ address: string; family: 4 | 6 }>;
}

export type HostLookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * Checks a target URL and resolves its host once. Every address the name resolves to must be allowed
 * (a name with one public and one private record is refused), and the caller connects to the
 * returned address only, so a second, different DNS answer cannot redirect the call.
 */
export async function resolveTarget(target: string, policy: TargetPolicy, lookup: HostLookup = systemLookup): Promise<ResolvedTarget> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new TargetRefusedError('The URL is not valid', 'url');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.sandboxRelaxed)) {
    throw new TargetRefusedError(policy.sandboxRelaxed ? 'The URL must be http or https' : 'The URL must be https', 'scheme');
  }
  if (url.username || url.password) throw new TargetRefusedError('The URL must not carry credentials', 'credentials');
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(hostname)) {
    addresses = [{ address: hostname, family: isIP(hostname) }];
  } else {
    try {
      addresses = await lookup(hostname);
    } catch {
      addresses = [];
    }
    if (addresses.length === 0) throw new TargetRefusedError(`${hostname} does not resolve`, 'unresolvable');
  }
  for (const { address } of addresses) {
    const decision = decideAddress(address, policy);
    if (!decision.allowed) {
      throw new TargetRefusedError(`${hostname} resolves to ${address}, a ${decision.addressClass.replace('_', '-')} address`, 'address');
    }
  }
  const checked = addresses.map(({ address, family }) => ({ address, family: family === 6 ? (6 as const) : (4 as const) }));
  return { url, hostname, address: checked[0]!.address, family: checked[0]!.family, addresses: checked };
}
