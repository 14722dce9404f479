import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

// Bytes from the CSPRNG drawn a block at a time, each handed out once: a call per id (ulid asks for one byte per
// character) cost more than the bytes themselves on the gateway's hot path. Node pools randomUUID the same way.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** `length` fresh random bytes (a copy: no byte is ever handed out twice). */
export function randomBytesPooled(length: number): Buffer {
  if (length > pool.length) return randomFillSync(Buffer.alloc(length));
  if (poolOffset + length > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + length));
  poolOffset += length;
  return bytes;
}

/** A random number in [0, 1) in steps of 1/256: what ulid asks per character. */
const randomByteFraction = () => randomBytesPooled(1)[0]! / 256;

/** A monotonic ULID source (ids made in one millisecond still sort in order). */
export const monotonicUlid = () => monotonicFactory(randomByteFraction);

const nextUlid = monotonicUlid();

/** Time-sortable unique ids with a readable prefix, e.g. `team_01jd...`. */
export type IdPrefix = 'user' | 'team' | 'app' | 'mnp' | 'plat' | 'audit' | 'apr';

export function newId(prefix: IdPrefix, nowMs?: number): string {
  return `${prefix}_${nextUlid(nowMs).toLowerCase()}`;
}

const alphanumeric = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random characters from an alphabet (rejection sampling keeps it unbiased). */
export function randomString(length: number, alphabet = alphanumeric): string {
  let out = '';
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const byte of randomBytesPooled(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}
