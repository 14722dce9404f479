import { describe, expect, it } from 'vitest';
import type { Keyset, KeyedRow, RecordPart, RecordSort } from '../../repositories/record-keyset.ts';
import { cappedCount, decodeCursor, encodeCursor, keysetBatches, keysetPage } from './record-query.ts';

/** Parts backed by arrays, served like the keyset queries serve them (newest first, or oldest first). */
function fakeParts(rowsByPart: KeyedRow[][], sort: RecordSort = 'newest') {
  const parts: RecordPart[] = rowsByPart.map((_, index) => ({ column: 'mnp_id', value: String(index) }));
  const sign = sort === 'newest' ? 1 : -1;
  const sorted = rowsByPart.map((rows) => [...rows].sort((a, b) => sign * (b.created_at - a.created_at || b.id - a.id)));
  const fetch = async (part: RecordPart, after: Keyset | undefined, limit: number) => {
    const rows = sorted[Number(part.column ? part.value : 0)]!;
    return rows.filter((row) => !after || sign * (after.createdAt - row.created_at || after.id - row.id) > 0).slice(0, limit);
  };
  return { parts, fetch };
}

const rowsOf = (ids: number[], createdAt: (id: number) => number) => ids.map((id) => ({ id, created_at: createdAt(id) }));

describe('record lists across parts', () => {
  const a = rowsOf([1, 2, 3, 4, 5, 6, 7], (id) => id * 10);
  const b = rowsOf([8, 9, 10, 11], (id) => (id - 7) * 15);
  const c = rowsOf([12, 13], () => 30);
  const everything = [...a, ...b, ...c].sort((x, y) => y.created_at - x.created_at || y.id - x.id).map((row) => row.id);

  it('pages merge the parts in (created_at, id) descending order, ties by id', async () => {
    const { parts, fetch } = fakeParts([a, b, c]);
    const ids: number[] = [];
    let after: Keyset | undefined;
    for (;;) {
      const page = await keysetPage(parts, fetch, after, 3);
      ids.push(...page.rows.map((row) => row.id));
      if (!page.nextCursor) break;
      after = decodeCursor(page.nextCursor);
    }
    expect(ids).toEqual(everything);
  });

  it('batches stream every row once, in order, whatever the batch size', async () => {
    const { parts, fetch } = fakeParts([a, b, c]);
    for (const size of [1, 2, 3, 5, 100]) {
      const ids: number[] = [];
      for await (const batch of keysetBatches(parts, fetch, size)) {
        expect(batch.length).toBeLessThanOrEqual(size);
        ids.push(...batch.map((row) => row.id));
      }
      expect(ids, `batch size ${size}`).toEqual(everything);
    }
  });

  it('pages and batches oldest first: the exact reverse, cursors tied to their order', async () => {
    const { parts, fetch } = fakeParts([a, b, c], 'oldest');
    const ids: number[] = [];
    let after: Keyset | undefined;
    for (;;) {
      const page = await keysetPage(parts, fetch, after, 3, 'oldest');
      ids.push(...page.rows.map((row) => row.id));
      if (!page.nextCursor) break;
      expect(() => decodeCursor(page.nextCursor!)).toThrow(/sorted oldest first, not newest first/);
      after = decodeCursor(page.nextCursor, 'oldest');
    }
    expect(ids).toEqual([...everything].reverse());
    for (const size of [1, 4, 100]) {
      const batched: number[] = [];
      for await (const batch of keysetBatches(parts, fetch, size, 'oldest')) batched.push(...batch.map((row) => row.id));
      expect(batched, `batch size ${size}`).toEqual([...everything].reverse());
    }
  });

  it('counts stop at the cap across parts', async () => {
    const count = async (part: RecordPart, cap: number) => Math.min(cap, part.column ? Number(part.value) * 4 : 0);
    const parts: RecordPart[] = [1, 2, 3].map((n) => ({ column: 'mnp_id', value: String(n) }));
    expect(await cappedCount(parts, count, 100)).toEqual({ value: 24, exact: true });
    expect(await cappedCount(parts, count, 10)).toEqual({ value: 10, exact: false });
    expect(await cappedCount(parts, count, 24)).toEqual({ value: 24, exact: true });
  });

  it('cursors are opaque and checked', () => {
    expect(decodeCursor(encodeCursor({ id: 42, created_at: 1_700_000_000_000 }))).toEqual({ id: 42, createdAt: 1_700_000_000_000 });
    for (const bad of [
      '',
      'xyz',
      Buffer.from('[1]').toString('base64url'),
      Buffer.from('[1, 2, "sideways"]').toString('base64url'),
      Buffer.from('[-1, 2]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad), bad).toThrow(/cursor/);
    }
  });
});
