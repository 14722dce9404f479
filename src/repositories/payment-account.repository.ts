import type { Insertable, Selectable } from 'kysely';
import type { MerchantApiKeyTable, PaymentAccountTable } from '../db/payment-schema.ts';
import type { Executor } from '../db/schema.ts';

export type PaymentAccountRow = Selectable<PaymentAccountTable>;
export type MerchantApiKeyRow = Selectable<MerchantApiKeyTable>;

export const paymentAccountRepository = {
  /** A merchant API key by certificate serial, with its account's mchid. */
  findKeyWithMchidBySerial: (db: Executor, serialNo: string) =>
    db
      .selectFrom('merchant_api_keys')
      .innerJoin('payment_accounts', 'payment_accounts.mnp_id', 'merchant_api_keys.mnp_id')
      .select([
        'merchant_api_keys.mnp_id',
        'payment_accounts.mchid',
        'payment_accounts.superapp_id',
        'merchant_api_keys.public_key_pem',
        'merchant_api_keys.status',
        'merchant_api_keys.not_after',
      ])
      .where('merchant_api_keys.serial_no', '=', serialNo)
      .executeTakeFirst(),

  find: (db: Executor, mnpId: string) => db.selectFrom('payment_accounts').selectAll().where('mnp_id', '=', mnpId).executeTakeFirst(),
  insert: (db: Executor, row: Insertable<PaymentAccountTable>) => db.insertInto('payment_accounts').values(row).execute(),
  listByTeam: (db: Executor, teamId: string) => db.selectFrom('payment_accounts').selectAll().where('team_id', '=', teamId).execute(),
  setMchid: (db: Executor, mnpId: string, mchid: string, now: number) =>
    db.updateTable('payment_accounts').set({ mchid, updated_at: now }).where('mnp_id', '=', mnpId).executeTakeFirst(),
  setApiV3Key: (db: Executor, mnpId: string, sealed: string, now: number) =>
    db
      .updateTable('payment_accounts')
      .set({ api_v3_key_sealed: sealed, api_v3_key_set_at: now, updated_at: now })
      .where('mnp_id', '=', mnpId)
      .executeTakeFirst(),

  insertKey: (db: Executor, row: Insertable<MerchantApiKeyTable>) => db.insertInto('merchant_api_keys').values(row).execute(),
  findKeyBySerial: (db: Executor, serialNo: string) =>
    db.selectFrom('merchant_api_keys').selectAll().where('serial_no', '=', serialNo).executeTakeFirst(),
  findActiveKey: (db: Executor, mnpId: string) =>
    db.selectFrom('merchant_api_keys').selectAll().where('mnp_id', '=', mnpId).where('status', '=', 'active').executeTakeFirst(),
  /** The active certificate of each payment account of a team (the Standard payment page's expiry warnings). */
  listActiveKeysByTeam: (db: Executor, teamId: string) =>
    db
      .selectFrom('merchant_api_keys')
      .innerJoin('payment_accounts', 'payment_accounts.mnp_id', 'merchant_api_keys.mnp_id')
      .select(['merchant_api_keys.mnp_id', 'merchant_api_keys.serial_no', 'merchant_api_keys.not_after'])
      .where('payment_accounts.team_id', '=', teamId)
      .where('merchant_api_keys.status', '=', 'active')
      .execute(),
  listKeys: (db: Executor, mnpId: string) =>
    db.selectFrom('merchant_api_keys').selectAll().where('mnp_id', '=', mnpId).orderBy('created_at', 'desc').execute(),
  /** Compare-and-set active → revoked; 0 when it was revoked already. */
  revokeKey: async (db: Executor, serialNo: string, now: number) =>
    Number(
      (
        await db
          .updateTable('merchant_api_keys')
          .set({ status: 'revoked', revoked_at: now, private_key_sealed: null })
          .where('serial_no', '=', serialNo)
          .where('status', '=', 'active')
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
  /** Compare-and-set that forgets the sealed private key: only the caller that gets 1 may hand it out. */
  takePrivateKey: async (db: Executor, serialNo: string, now: number) =>
    Number(
      (
        await db
          .updateTable('merchant_api_keys')
          .set({ private_key_sealed: null, downloaded_at: now })
          .where('serial_no', '=', serialNo)
          .where('status', '=', 'active')
          .where('private_key_sealed', 'is not', null)
          .executeTakeFirst()
      ).numUpdatedRows,
    ),
};
