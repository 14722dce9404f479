import type { Insertable, Kysely } from 'kysely';
import type { OrderTable, RefundTable, TradeState, RefundStatus } from '../../src/db/order-schema.ts';
import type { Database } from '../../src/db/schema.ts';
import { systemActor, type Actor } from '../../src/domain/access.ts';
import { actorOf, createUser } from './factories.ts';
import { createPaymentWorld, type PaymentWorld } from './payment-world.ts';
import type { TestContext } from './test-context.ts';

/**
 * Orders, refunds and notifications written straight into the tables (the record pages read them; the
 * gateway that normally writes them is not needed for that).
 */
export interface OrderOwner {
  mnpId: string;
  applicationId: string;
  miniProgramTeamId: string;
  superappTeamId: string;
}

let sequence = 0;
const next = () => ++sequence;

export interface OrderFields {
  createdAt: number;
  amount?: number;
  currency?: string;
  tradeState?: TradeState;
  outTradeNo?: string;
  transactionId?: string | null;
  mchid?: string;
  description?: string;
  payer?: string;
  refundSucceeded?: number;
  sandbox?: number;
  clientPlatform?: number;
}

export function orderRow(owner: OrderOwner, fields: OrderFields): Insertable<OrderTable> {
  const n = next();
  const tradeState = fields.tradeState ?? 'SUCCESS';
  const paid = tradeState === 'SUCCESS' || tradeState === 'REFUND';
  return {
    prepay_id: `wx${String(n).padStart(12, '0')}${Math.random().toString(36).slice(2, 10)}`,
    transaction_id:
      fields.transactionId !== undefined
        ? fields.transactionId
        : paid
          ? `42000000${String(Date.now()).slice(-8)}${String(n).padStart(14, '0')}`
          : null,
    mchid: fields.mchid ?? '1900000001',
    out_trade_no: fields.outTradeNo ?? `T${n}${Math.random().toString(36).slice(2, 8)}`,
    mnp_id: owner.mnpId,
    application_id: owner.applicationId,
    mini_program_team_id: owner.miniProgramTeamId,
    superapp_team_id: owner.superappTeamId,
    description: fields.description ?? `Order ${n}`,
    attach: null,
    notify_url: 'https://merchant.example/notify',
    amount_total: fields.amount ?? 100 + (n % 50) * 10,
    currency: fields.currency ?? 'CNY',
    payer_openid: fields.payer ?? `openid-${n % 7}`,
    time_expire: fields.createdAt + 2 * 60 * 60 * 1000,
    client_platform: fields.clientPlatform ?? 0,
    sandbox: fields.sandbox ?? 1,
    trade_state: tradeState,
    channel_kind: 'sandbox',
    channel_order_id: `ch-${n}`,
    channel_transaction_id: paid ? `cht-${n}` : null,
    cashier_token: `cashier-${n}`,
    fingerprint: `fp-${n}`,
    refund_reserved: fields.refundSucceeded ?? 0,
    refund_count: fields.refundSucceeded ? 1 : 0,
    refund_succeeded: fields.refundSucceeded ?? 0,
    anomaly_flags: 0,
    pending_operation: null,
    reconcile_at: null,
    created_at: fields.createdAt,
    updated_at: fields.createdAt,
    success_time: paid ? fields.createdAt + 30_000 : null,
    closed_at: tradeState === 'CLOSED' || tradeState === 'AUTO_CLOSED' ? fields.createdAt + 60_000 : null,
  };
}

export async function insertOrder(db: Kysely<Database>, owner: OrderOwner, fields: OrderFields) {
  return db.insertInto('orders').values(orderRow(owner, fields)).returningAll().executeTakeFirstOrThrow();
}

/** Many orders in multi-row inserts. */
export async function insertOrders(db: Kysely<Database>, rows: Insertable<OrderTable>[]): Promise<void> {
  for (let index = 0; index < rows.length; index += 500)
    await db
      .insertInto('orders')
      .values(rows.slice(index, index + 500))
      .execute();
}

export interface RefundFields {
  createdAt: number;
  amount: number;
  status?: RefundStatus;
  outRefundNo?: string;
  reason?: string | null;
}

export async function insertRefund(
  db: Kysely<Database>,
  order: {
    id: number;
    mchid: string;
    mnp_id: string;
    application_id: string;
    mini_program_team_id: string;
    superapp_team_id: string;
    out_trade_no: string;
    transaction_id: string | null;
    amount_total: number;
    currency: string;
    sandbox: number;
  },
  fields: RefundFields,
) {
  const n = next();
  const status = fields.status ?? 'SUCCESS';
  const row: Insertable<RefundTable> = {
    refund_id: `50300${String(n).padStart(24, '0')}`,
    mchid: order.mchid,
    out_refund_no: fields.outRefundNo ?? `R${n}${Math.random().toString(36).slice(2, 8)}`,
    order_id: order.id,
    mnp_id: order.mnp_id,
    application_id: order.application_id,
    mini_program_team_id: order.mini_program_team_id,
    superapp_team_id: order.superapp_team_id,
    sandbox: order.sandbox,
    out_trade_no: order.out_trade_no,
    transaction_id: order.transaction_id ?? `42000${n}`,
    kind: 'merchant',
    channel_payment_id: null,
    amount_refund: fields.amount,
    amount_total: order.amount_total,
    currency: order.currency,
    reason: fields.reason === undefined ? 'customer asked' : fields.reason,
    notify_url: null,
    status,
    channel_kind: 'sandbox',
    channel_refund_id: `chr-${n}`,
    user_received_account: null,
    reconcile_at: null,
    created_at: fields.createdAt,
    updated_at: fields.createdAt,
    success_time: status === 'SUCCESS' ? fields.createdAt + 60_000 : null,
  };
  return db.insertInto('refunds').values(row).returningAll().executeTakeFirstOrThrow();
}

/** A merchant notification about an order or refund, with one failed delivery attempt. */
export async function insertNotification(
  db: Kysely<Database>,
  subject: { type: 'order' | 'refund'; id: number },
  owner: OrderOwner,
  at: number,
  fields: { eventType?: string; targetUrl?: string } = {},
) {
  const n = next();
  const eventType = fields.eventType ?? (subject.type === 'order' ? 'TRANSACTION.SUCCESS' : 'REFUND.SUCCESS');
  const outbox = await db
    .insertInto('outbox')
    .values({
      event_id: `evt-${n}-${Math.random().toString(36).slice(2, 8)}`,
      topic: 'merchant_notification',
      event_type: eventType,
      payload_json: JSON.stringify({ event_type: eventType }),
      target_url: fields.targetUrl ?? 'https://merchant.example/notify',
      sandbox: 1,
      subject_type: subject.type,
      subject_id: String(subject.id),
      mnp_id: owner.mnpId,
      application_id: owner.applicationId,
      mini_program_team_id: owner.miniProgramTeamId,
      superapp_team_id: owner.superappTeamId,
      status: 'failed',
      attempts: 1,
      round_attempts: 1,
      next_attempt_at: null,
      claimed_by: null,
      claim_token: null,
      claim_expires_at: null,
      manual: 0,
      last_error: 'HTTP 500',
      last_http_status: 500,
      created_at: at,
      updated_at: at,
      delivered_at: null,
      failed_at: at + 1000,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db
    .insertInto('delivery_attempts')
    .values({
      outbox_id: outbox.id,
      attempt_no: 1,
      manual: 0,
      target_url: outbox.target_url,
      started_at: at + 500,
      latency_ms: 42,
      outcome: 'failed',
      http_status: 500,
      response_excerpt: 'oops',
      error: 'HTTP 500',
      worker: 'test',
    })
    .execute();
  return outbox;
}

/** An OPEN reconciliation exception written straight into its table (a run is not needed to read or resolve it). */
export async function insertReconciliationException(
  db: Kysely<Database>,
  owner: { applicationId: string; mnpId: string },
  fields: { billDate: string; outTradeNo: string; mchid?: string; at: number },
) {
  return db
    .insertInto('reconciliation_exceptions')
    .values({
      run_id: 0,
      application_id: owner.applicationId,
      bill_date: fields.billDate,
      item_key: `MISSING_AT_CHANNEL:PAY:${fields.outTradeNo}:${next()}`,
      kind: 'MISSING_AT_CHANNEL',
      status: 'OPEN',
      mnp_id: owner.mnpId,
      mchid: fields.mchid ?? '1900000001',
      out_trade_no: fields.outTradeNo,
      last_seen_pass: 1,
      created_at: fields.at,
      updated_at: fields.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** What the record suites read from: two mini program teams (A, B) under one superapp, another tenant, and a developer of team B. */
export interface RecordTenants {
  world: PaymentWorld;
  other: PaymentWorld;
  teamA: OrderOwner;
  teamB: OrderOwner;
  otherTenant: OrderOwner;
  developerB: Actor;
}

export async function createRecordTenants(context: TestContext): Promise<RecordTenants> {
  const world = await createPaymentWorld(context);
  const other = await createPaymentWorld(context);
  const superappTeamId = world.tenant.superappTeamId;
  const developer = await createUser(context);
  await context.services.teams.addMember(systemActor(), world.second.teamId, { account: developer.account, role: 'developer' });
  return {
    world,
    other,
    teamA: { mnpId: world.mnpId, applicationId: world.applicationId, miniProgramTeamId: world.teamId, superappTeamId },
    teamB: { mnpId: world.second.mnpId, applicationId: world.applicationId, miniProgramTeamId: world.second.teamId, superappTeamId },
    otherTenant: {
      mnpId: other.mnpId,
      applicationId: other.applicationId,
      miniProgramTeamId: other.teamId,
      superappTeamId: other.tenant.superappTeamId,
    },
    developerB: await actorOf(context, developer),
  };
}
