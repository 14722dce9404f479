import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

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
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}
