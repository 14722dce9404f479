import type { RecordSort } from '../domain/record-scope.ts';

/**
 * Record lists (orders, refunds) are read as keyset scans ordered by (created_at, id), newest or oldest
 * first (an index serves both directions). A list is the union of "parts": one equality on an owner column
 * that an index `(column, created_at, id)` serves, or no owner predicate at all (platform admins). Each part
 * is read in index order and the parts are merged, so a page costs the same on page 1 and page 100,000.
 */
export type RecordOwnerColumn = 'mnp_id' | 'mini_program_team_id' | 'application_id';

/** `state`: a trade_state (orders) or status (refunds) equality, served by `(column, state, created_at, id)`. */
export type RecordPart = ({ column: RecordOwnerColumn; value: string } | { column: null }) & { state?: string };

/** The position after which the next page starts: the last row of the previous page. */
export interface Keyset {
  createdAt: number;
  id: number;
}

export interface KeyedRow {
  id: number;
  created_at: number;
}

/** The list's order by (created_at, id): newest first (the default) or oldest first. */
export type { RecordSort };

/** SQL's direction for a sort, and the keyset comparison that continues after a row in it. */
export const sqlDirectionOf = (sort: RecordSort | undefined) => (sort === 'oldest' ? 'asc' : 'desc');
export const keysetOperatorOf = (sort: RecordSort | undefined) => (sort === 'oldest' ? '>' : '<');

/** True when `a` comes before `b` in the list's (created_at, id) order. */
export function comesBefore(a: KeyedRow, b: KeyedRow, sort: RecordSort = 'newest'): boolean {
  if (a.created_at !== b.created_at) return sort === 'newest' ? a.created_at > b.created_at : a.created_at < b.created_at;
  return sort === 'newest' ? a.id > b.id : a.id < b.id;
}

/** Merges per-part lists, each already in the list's order, dropping repeated ids. */
export function mergeInOrder<Row extends KeyedRow>(lists: Row[][], sort: RecordSort = 'newest'): Row[] {
  if (lists.length === 1) return lists[0]!;
  const merged = lists.flat().sort((a, b) => (comesBefore(a, b, sort) ? -1 : comesBefore(b, a, sort) ? 1 : 0));
  return merged.filter((row, index) => index === 0 || row.id !== merged[index - 1]!.id);
}
