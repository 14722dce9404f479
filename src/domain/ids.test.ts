import { describe, expect, it } from 'vitest';
import { monotonicUlid, newId, randomBytesPooled, randomString } from './ids.ts';

describe('random ids from the pooled CSPRNG', () => {
  it('hands every byte out once: chunks across many pool refills are all different', () => {
    const seen = new Set<string>();
    // 16-byte chunks over ~40 refills of the 4 KiB pool, some of odd lengths to straddle its end.
    for (let i = 0; i < 10_000; i++) seen.add(randomBytesPooled(i % 7 === 0 ? 13 : 16).toString('hex'));
    expect(seen.size).toBe(10_000);
    expect(randomBytesPooled(10_000)).toHaveLength(10_000);
  });

  it('a handed-out buffer is a copy: the pool refilling does not change it', () => {
    const kept = randomBytesPooled(32);
    const copy = Buffer.from(kept);
    for (let i = 0; i < 1_000; i++) randomBytesPooled(64);
    expect(kept.equals(copy)).toBe(true);
  });

  it('random strings use the whole alphabet and nothing else', () => {
    const text = randomString(20_000, 'abc');
    expect(new Set(text)).toEqual(new Set('abc'));
    expect(text).toMatch(/^[abc]{20000}$/);
  });

  it('ids of one millisecond still sort in the order they were made, and never repeat', () => {
    const next = monotonicUlid();
    const ids = Array.from({ length: 1_000 }, () => next(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(newId('team')).toMatch(/^team_[0-9a-z]{26}$/);
  });
});
