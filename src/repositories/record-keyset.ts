/**
 * Record lists (orders, refunds) are read as keyset scans ordered by (created_at, id) descending. A list
 * is the union of "parts": one equality on an owner column that an index `(column, created_at, id)`
 * serves, or no owner predicate at all (platform admins). Each part is read in index order and the
 * parts are merged, so a page costs the same on page 1 and page 100,000.
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

/** True when `a` comes before `b` in (created_at, id) descending order. */
export const comesBefore = (a: KeyedRow, b: KeyedRow) => a.created_at > b.created_at || (a.created_at === b.created_at && a.id > b.id);

/** Merges per-part lists, each already in (created_at, id) descending order, dropping repeated ids. */
export function mergeDescending<Row extends KeyedRow>(lists: Row[][]): Row[] {
  if (lists.length === 1) return lists[0]!;
  const merged = lists.flat().sort((a, b) => (comesBefore(a, b) ? -1 : comesBefore(b, a) ? 1 : 0));
  return merged.filter((row, index) => index === 0 || row.id !== merged[index - 1]!.id);
}
