import { sql } from 'kysely';
import type { Executor } from '../db/schema.ts';

/**
 * Every column that holds values sealed with the master key, as data: the start-up check and the master key
 * rotation (SPEC §7) walk this list. `contextColumn` is what the sealing context is made from; `onlyKey`
 * narrows a table of mixed values (settings) to the one row that is sealed.
 */
export const sealedColumns = [
  { name: 'api_key_secret', table: 'api_keys', keyColumn: 'id', sealedColumn: 'secret_key_encrypted', contextColumn: 'secret_id' },
  // A superapp's HTTP channel key and host key, and the keys they replaced (still accepted during the overlap).
  ...(['channel_key', 'previous_channel_key', 'host_key', 'previous_host_key'] as const).map((name) => ({
    name,
    table: 'superapp_payment_configs',
    keyColumn: 'superapp_id',
    sealedColumn: `${name}_sealed` as const,
    contextColumn: 'superapp_id',
  })),
  { name: 'api_v3_key', table: 'payment_accounts', keyColumn: 'mnp_id', sealedColumn: 'api_v3_key_sealed', contextColumn: 'mnp_id' },
  {
    name: 'virtual_app_key',
    table: 'virtual_payment_accounts',
    keyColumn: 'mnp_id',
    sealedColumn: 'app_key_sealed',
    contextColumn: 'mnp_id',
  },
  {
    name: 'merchant_private_key',
    table: 'merchant_api_keys',
    keyColumn: 'serial_no',
    sealedColumn: 'private_key_sealed',
    contextColumn: 'serial_no',
  },
  {
    name: 'platform_private_key',
    table: 'platform_signing_keys',
    keyColumn: 'serial_no',
    sealedColumn: 'private_key_sealed',
    contextColumn: 'serial_no',
  },
  ...(['demo.manifest', 'demo.merchant.credentials'] as const).map((settingKey) => ({
    name: settingKey,
    table: 'settings',
    keyColumn: 'setting_key',
    sealedColumn: 'setting_value',
    contextColumn: 'setting_key',
    onlyKey: settingKey,
  })),
] as const satisfies readonly SealedColumn[];

export interface SealedColumn {
  name: string;
  table: string;
  keyColumn: string;
  sealedColumn: string;
  contextColumn: string;
  onlyKey?: string;
}

/** One entry of `sealedColumns`, its name narrowed to the known ones. */
export type KnownSealedColumn = (typeof sealedColumns)[number];
export type SealedColumnName = KnownSealedColumn['name'];

export interface SealedValueRow {
  row_key: string;
  context_value: string;
  sealed: string;
}

/**
 * Where a sealed value's key id sits: after `version` and a dot, `keyIdLength` characters (the crypto module's format,
 * passed in so this file knows only strings). Values of another version count under `legacyId`.
 */
export interface KeyIdLayout {
  version: string;
  keyIdLength: number;
  legacyId: string;
}

/** LIKE pattern of a value sealed under this key id. */
const sealedUnder = (layout: KeyIdLayout, keyId: string) => `${layout.version}.${keyId}.%`;

function sealedRows(column: SealedColumn) {
  const only = column.onlyKey === undefined ? sql`` : sql`and ${sql.ref(column.keyColumn)} = ${column.onlyKey}`;
  return sql`from ${sql.table(column.table)} where ${sql.ref(column.sealedColumn)} is not null ${only}`;
}

export const sealedValueRepository = {
  /** The key ids the column's values are sealed under (`legacyId` for values without one): one scan, no decryption. */
  async distinctKeyIds(db: Executor, column: SealedColumn, layout: KeyIdLayout): Promise<string[]> {
    const sealed = sql.ref(column.sealedColumn);
    const start = layout.version.length + 2;
    const labelled = sql`${sealed} like ${`${layout.version}.%`}`;
    const keyId = sql`case when ${labelled} then substr(${sealed}, ${start}, ${layout.keyIdLength}) else ${layout.legacyId} end`;
    const result = await sql<{ key_id: string }>`select distinct ${keyId} as key_id ${sealedRows(column)}`.execute(db);
    return result.rows.map((row) => row.key_id);
  },
  /** The next rows after `afterKey` (in key order) whose value is not sealed under `keyId`. */
  async batchNotSealedUnder(
    db: Executor,
    column: SealedColumn,
    under: { layout: KeyIdLayout; keyId: string },
    afterKey: string,
    limit: number,
  ) {
    const key = sql.ref(column.keyColumn);
    const result = await sql<SealedValueRow>`
      select ${key} as row_key, ${sql.ref(column.contextColumn)} as context_value, ${sql.ref(column.sealedColumn)} as sealed
      ${sealedRows(column)} and ${sql.ref(column.sealedColumn)} not like ${sealedUnder(under.layout, under.keyId)} and ${key} > ${afterKey}
      order by ${key} limit ${limit}`.execute(db);
    return result.rows;
  },
  async countNotSealedUnder(db: Executor, column: SealedColumn, under: { layout: KeyIdLayout; keyId: string }): Promise<number> {
    const sealed = sql.ref(column.sealedColumn);
    const result = await sql<{ count: number | string }>`
      select count(*) as count ${sealedRows(column)} and ${sealed} not like ${sealedUnder(under.layout, under.keyId)}`.execute(db);
    return Number(result.rows[0]?.count ?? 0);
  },
  /** Compare-and-set: replaces the sealed value only if it is still the one read; false when it changed meanwhile. */
  async replace(db: Executor, column: SealedColumn, rowKey: string, read: string, next: string): Promise<boolean> {
    const sealed = sql.ref(column.sealedColumn);
    const result = await sql`
      update ${sql.table(column.table)} set ${sealed} = ${next}
      where ${sql.ref(column.keyColumn)} = ${rowKey} and ${sealed} = ${read}`.execute(db);
    return Number(result.numAffectedRows ?? 0n) === 1;
  },
};
