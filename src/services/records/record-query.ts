import type { Executor } from '../../db/schema.ts';
import { AppError, notFound } from '../../domain/errors.ts';
import {
  comesBefore,
  mergeInOrder,
  type KeyedRow,
  type Keyset,
  type RecordPart,
  type RecordSort,
} from '../../repositories/record-keyset.ts';
import { scopeIncludes, type RecordScope } from '../../domain/record-scope.ts';
import { miniProgramRepository } from '../../repositories/mini-program.repository.ts';
import { teamRepository } from '../../repositories/team.repository.ts';

/** Counts stop here: beyond it the console says "more than 10,000" (SPEC §7 "Records at scale"). */
export const totalCountCap = 10_000;

/**
 * The parts a record list is read from (see record-keyset.ts): the asked mini programs, each of which
 * must be inside the scope (else it does not exist for the caller); or the scope's own owners, with a
 * mini program team left out when its superapp is in the scope already, so that parts never overlap.
 */
export async function recordPartsFor(db: Executor, scope: RecordScope, mnpIds: readonly string[] | undefined): Promise<RecordPart[]> {
  if (mnpIds?.length) {
    const unique = [...new Set(mnpIds)];
    const rows = await miniProgramRepository.listWithSuperapp(db, unique);
    for (const mnpId of unique) {
      const row = rows.find((candidate) => candidate.id === mnpId);
      if (!row || !scopeIncludes(scope, { miniProgramTeamId: row.team_id, applicationId: row.superapp_id ?? '' }))
        throw notFound(`Mini program ${mnpId}`);
    }
    return unique.map((value) => ({ column: 'mnp_id', value }));
  }
  if (scope.all) return [{ column: null }];
  let teamIds = scope.miniProgramTeamIds;
  if (teamIds.length && scope.applicationIds.length) {
    const teams = await teamRepository.listByIds(db, teamIds);
    const covered = new Set(
      teams.filter((team) => team.superapp_id && scope.applicationIds.includes(team.superapp_id)).map((team) => team.id),
    );
    teamIds = teamIds.filter((id) => !covered.has(id));
  }
  return [
    ...teamIds.map((value): RecordPart => ({ column: 'mini_program_team_id', value })),
    ...scope.applicationIds.map((value): RecordPart => ({ column: 'application_id', value })),
  ];
}

/**
 * One part per (owner, state) when states are asked: each is one keyset range of an index
 * `(owner, state, created_at, id)`, however rare the state (parts of different states never overlap).
 */
export function partsByState(parts: readonly RecordPart[], states: readonly string[] | undefined): RecordPart[] {
  if (!states?.length) return [...parts];
  return parts.flatMap((part) => [...new Set(states)].map((state) => ({ ...part, state })));
}

/** The opaque cursor of a page: the (created_at, id) of its last row, and the order it continues in. */
export function encodeCursor(row: KeyedRow, sort: RecordSort = 'newest'): string {
  return Buffer.from(JSON.stringify(sort === 'newest' ? [row.created_at, row.id] : [row.created_at, row.id, sort])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, sort: RecordSort = 'newest'): Keyset | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // Falls through to the error below.
  }
  if (
    Array.isArray(value) &&
    (value.length === 2 || (value.length === 3 && value[2] === 'oldest')) &&
    value.slice(0, 2).every((n) => Number.isSafeInteger(n) && n >= 0)
  ) {
    // A cursor continues the order it was made in: in the other one it would skip or repeat rows.
    if ((value[2] ?? 'newest') !== sort)
      throw new AppError('InvalidParameterValue', `cursor: from a list sorted ${value[2] ?? 'newest'} first, not ${sort} first`, {
        field: 'cursor',
      });
    return { createdAt: value[0] as number, id: value[1] as number };
  }
  throw new AppError('InvalidParameterValue', 'cursor: not a cursor this list returned', { field: 'cursor' });
}

export interface KeysetPage<Row> {
  rows: Row[];
  /** Where the next page starts; null on the last page. */
  nextCursor: string | null;
}

/** One page across the parts: `limit + 1` rows of each part in index order, merged. */
export async function keysetPage<Row extends KeyedRow>(
  parts: readonly RecordPart[],
  fetch: (part: RecordPart, after: Keyset | undefined, limit: number) => Promise<Row[]>,
  after: Keyset | undefined,
  limit: number,
  sort: RecordSort = 'newest',
): Promise<KeysetPage<Row>> {
  const lists = await Promise.all(parts.map((part) => fetch(part, after, limit + 1)));
  const merged = parts.length ? mergeInOrder(lists, sort) : [];
  const rows = merged.slice(0, limit);
  return { rows, nextCursor: merged.length > limit ? encodeCursor(rows[rows.length - 1]!, sort) : null };
}

/** Rows `offset .. offset + limit` across the parts (the management API's Offset / Limit, Offset ≤ 10,000). */
export async function offsetPage<Row extends KeyedRow>(
  parts: readonly RecordPart[],
  fetch: (part: RecordPart, limit: number, offset: number) => Promise<Row[]>,
  offset: number,
  limit: number,
): Promise<Row[]> {
  if (parts.length === 0) return [];
  if (parts.length === 1) return fetch(parts[0]!, limit, offset);
  const lists = await Promise.all(parts.map((part) => fetch(part, offset + limit, 0)));
  return mergeInOrder(lists).slice(offset, offset + limit);
}

export interface CappedCount {
  value: number;
  /** False when there are more than `value` (the cap). */
  exact: boolean;
}

/** The parts never overlap, so their counts add up; each stops at the cap. */
export async function cappedCount(
  parts: readonly RecordPart[],
  count: (part: RecordPart, cap: number) => Promise<number>,
  cap = totalCountCap,
): Promise<CappedCount> {
  let total = 0;
  for (const part of parts) {
    total += await count(part, cap + 1 - total);
    if (total > cap) return { value: cap, exact: false };
  }
  return { value: total, exact: true };
}

/**
 * Every matching row, in list order, a batch at a time: each part is read by keyset batches and the
 * parts are merged on the fly, so memory holds at most one batch per part whatever the total.
 */
export async function* keysetBatches<Row extends KeyedRow>(
  parts: readonly RecordPart[],
  fetch: (part: RecordPart, after: Keyset | undefined, limit: number) => Promise<Row[]>,
  batchSize: number,
  sort: RecordSort = 'newest',
): AsyncGenerator<Row[]> {
  const readers = parts.map((part) => ({
    part,
    rows: [] as Row[],
    position: 0,
    next: undefined as Promise<Row[]> | undefined,
    done: false,
  }));
  type Reader = (typeof readers)[number];
  // The next batch is asked for as soon as one arrives, so the database works while the caller writes.
  const prefetch = (reader: Reader, after: Keyset | undefined) => {
    reader.next = fetch(reader.part, after, batchSize);
    // Handled where it is awaited; this only keeps an early failure from being reported as unhandled.
    reader.next.catch(() => undefined);
  };
  readers.forEach((reader) => prefetch(reader, undefined));
  const refill = async (reader: Reader) => {
    if (reader.position < reader.rows.length || reader.done || !reader.next) return;
    reader.rows = await reader.next;
    reader.position = 0;
    reader.next = undefined;
    const last = reader.rows[reader.rows.length - 1];
    if (reader.rows.length < batchSize || !last) reader.done = true;
    else prefetch(reader, { createdAt: last.created_at, id: last.id });
  };
  for (;;) {
    await Promise.all(readers.map(refill));
    // After a refill, a reader without rows left is done.
    const live = readers.filter((reader) => reader.position < reader.rows.length);
    if (live.length === 0) return;
    if (live.length === 1) {
      const only = live[0]!;
      yield only.position === 0 ? only.rows : only.rows.slice(only.position);
      only.position = only.rows.length;
      continue;
    }
    const out: Row[] = [];
    for (;;) {
      let best: Reader | undefined;
      for (const reader of live) {
        if (reader.position < reader.rows.length && (!best || comesBefore(reader.rows[reader.position]!, best.rows[best.position]!, sort)))
          best = reader;
      }
      if (!best) break;
      out.push(best.rows[best.position++]!);
      // A part whose batch ran out is read further before merging on.
      if ((best.position === best.rows.length && !best.done) || out.length >= batchSize) break;
    }
    yield out;
  }
}
