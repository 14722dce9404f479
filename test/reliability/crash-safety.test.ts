import { createRequire } from 'node:module';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import type { DatabaseKind } from '../../src/config/config.ts';
import type { DatabaseHandle } from '../../src/db/database.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { readyMerchant, type MerchantCredentials } from '../helpers/gateway-client.ts';
import { describeOnEachDatabase, withSchemaCatalogLock } from '../helpers/test-context.ts';
import {
  createCrashDatabase,
  freePort,
  seededRandom,
  serverEnvironment,
  ServerProcess,
  sleep,
  VerifyingNotifyReceiver,
  type CrashDatabase,
  type SeededRandom,
} from './crash-harness.ts';
import { runCli } from '../helpers/cli-process.ts';

/**
 * Crash safety (docs/RELIABILITY.md "Crash safety"): the real server (`node bin/paythrough.mjs
 * start`) takes a concurrent load of prepays, sandbox payments, failures, closes and partial refunds
 * (some concurrent on one order, some over-subscribing it) while it is SIGKILLed at random moments and
 * started again on the same database. Clients retry what got no answer, as a merchant would. At the end
 * every acknowledged order and refund exists with its amounts, no order is refunded beyond its payment,
 * every notified state change reached the notify_url (verified, decrypted, duplicates identical), our
 * states equal the sandbox channel's, and the database passes its integrity checks after a last kill.
 *
 * Configurations (the randomness is seeded; the seed is printed, replay with PAYTHROUGH_CRASH_SEED=<seed>):
 *   CI (default)                      3 kills, 30 orders, 6 lanes per database
 *   PAYTHROUGH_FULL_RELIABILITY=1     12 kills, 200 orders, 8 lanes per database
 *   PAYTHROUGH_CRASH_KILLS / PAYTHROUGH_CRASH_ORDERS override either.
 *   PAYTHROUGH_FULL_RELIABILITY=1 npx vitest run test/reliability/crash-safety.test.ts
 */

const require = createRequire(import.meta.url);
const { Wechatpay } = require('wechatpay-axios-plugin');

const full = process.env.PAYTHROUGH_FULL_RELIABILITY === '1';
const plan = {
  kills: Number(process.env.PAYTHROUGH_CRASH_KILLS ?? (full ? 12 : 3)),
  orders: Number(process.env.PAYTHROUGH_CRASH_ORDERS ?? (full ? 200 : 30)),
  lanes: full ? 8 : 6,
  /** How long the outbox, the sandbox's events and its refund timer get to settle everything once the load ends. */
  drainMs: full ? 180_000 : 75_000,
};
const seed = Number(process.env.PAYTHROUGH_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

type Fate = 'pay' | 'fail' | 'close' | 'late' | 'leave';
type Settlement = 'succeed' | 'close' | 'abnormal' | 'auto';
interface PlannedRefund {
  outRefundNo: string;
  amount: number;
  settlement: Settlement;
}
interface PlannedOrder {
  index: number;
  outTradeNo: string;
  total: number;
  fate: Fate;
  /** Refunds in groups; the refunds of one group are sent at the same time. */
  refundGroups: PlannedRefund[][];
}

/** The whole load, decided up front from the seed (so it does not depend on timing). */
function planLoad(random: SeededRandom, tag: string): { orders: PlannedOrder[]; killAt: Map<number, { delayMs: number; downMs: number }> } {
  const orders: PlannedOrder[] = [];
  for (let index = 0; index < plan.orders; index += 1) {
    const total = random.int(100, 20_000);
    const roll = random.next();
    const fate: Fate = roll < 0.72 ? 'pay' : roll < 0.82 ? 'fail' : roll < 0.9 ? 'close' : roll < 0.95 ? 'late' : 'leave';
    const outTradeNo = `CS${tag}${String(index).padStart(4, '0')}`;
    const refundGroups: PlannedRefund[][] = [];
    if (fate === 'pay') {
      let number = 0;
      for (let group = random.int(0, 2); group > 0; group -= 1) {
        const size = random.chance(0.5) ? random.int(2, 3) : 1;
        refundGroups.push(
          Array.from({ length: size }, () => {
            const settlementRoll = random.next();
            number += 1;
            return {
              outRefundNo: `${outTradeNo}R${number}`,
              // Up to 60% each: two or three at once often ask for more than was paid.
              amount: random.int(1, Math.max(1, Math.floor(total * 0.6))),
              settlement: settlementRoll < 0.4 ? 'succeed' : settlementRoll < 0.55 ? 'close' : settlementRoll < 0.7 ? 'abnormal' : 'auto',
            } satisfies PlannedRefund;
          }),
        );
      }
    }
    orders.push({ index, outTradeNo, total, fate, refundGroups });
  }
  const killAt = new Map<number, { delayMs: number; downMs: number }>();
  const candidates = Math.max(1, plan.orders - 3);
  while (killAt.size < Math.min(plan.kills, candidates)) {
    killAt.set(1 + random.int(0, candidates - 1), { delayMs: random.int(0, 700), downMs: random.int(0, 400) });
  }
  return { orders, killAt };
}

interface Tally {
  prepaysAcknowledged: number;
  paymentsAcknowledged: number;
  failuresAcknowledged: number;
  closesAcknowledged: number;
  refundsAcknowledged: number;
  refundsRefused: number;
  refundSettlementsSent: number;
  retriesAfterNoAnswer: number;
  serverErrors: string[];
  unexpectedAnswers: string[];
  restartMs: number[];
}

const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
function isNoAnswer(error: any): boolean {
  const code = error?.code ?? error?.cause?.code;
  return networkErrorCodes.has(code) || /socket hang up|fetch failed|other side closed/i.test(String(error?.message ?? ''));
}

type Answer<T> = { ok: true; status: number; data: T } | { ok: false; status: number; data: any };

/** Sends until the server answers (a merchant retries what got no answer); 5xx answers are retried and counted. */
async function untilAnswered<T>(tally: Tally, label: string, send: () => Promise<{ status: number; data: T }>): Promise<Answer<T>> {
  const deadline = Date.now() + 120_000;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const { status, data } = await send();
      return { ok: true, status, data };
    } catch (error: any) {
      const response = error?.response;
      if (response && response.status < 500) return { ok: false, status: response.status, data: response.data };
      if (response) tally.serverErrors.push(`${label}: HTTP ${response.status} ${JSON.stringify(response.data)}`);
      else if (!isNoAnswer(error)) throw error;
      if (Date.now() > deadline) throw new Error(`${label}: no answer for 120 s (${String(error?.message)})`);
      tally.retriesAfterNoAnswer += 1;
      await sleep(Math.min(100 * 2 ** attempt, 1000));
    }
  }
}

/** The sandbox control API over fetch, shaped like the v3 client's answers (throws on no answer). */
async function sandboxPost(baseUrl: string, path: string, body: object = {}): Promise<{ status: number; data: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (response.status >= 400) throw Object.assign(new Error(`HTTP ${response.status}`), { response: { status: response.status, data } });
  return { status: response.status, data };
}

interface Acknowledged {
  orders: Map<string, { prepayId: string; total: number }>;
  refunds: Map<string, { outTradeNo: string; amount: number }>;
}

const tradeStatesPaid = new Set(['SUCCESS', 'REFUND']);
const channelStateOf: Record<string, string> = {
  WAIT_PAY: 'WAIT_PAY',
  SUCCESS: 'SUCCESS',
  REFUND: 'SUCCESS',
  CLOSED: 'CLOSED',
  AUTO_CLOSED: 'CLOSED',
  PAY_ERROR: 'PAY_ERROR',
};

/** Everything the final check looks at, read from the test's own connection. */
async function audit(
  db: DatabaseHandle,
  merchant: MerchantCredentials,
  prefix: string,
  acknowledged: Acknowledged,
  receiver: VerifyingNotifyReceiver,
) {
  const problems: string[] = [];
  const orders = await db.db.selectFrom('orders').selectAll().where('out_trade_no', 'like', `${prefix}%`).execute();
  const orderIds = orders.map((order) => order.id);
  const refunds = orderIds.length ? await db.db.selectFrom('refunds').selectAll().where('order_id', 'in', orderIds).execute() : [];
  const history = await db.db.selectFrom('payment_state_history').selectAll().orderBy('id').execute();
  const sandboxOrders = await db.db.selectFrom('sandbox_orders').selectAll().where('merchant_id', '=', merchant.mchid).execute();
  const sandboxRefunds = await db.db.selectFrom('sandbox_refunds').selectAll().where('merchant_id', '=', merchant.mchid).execute();
  const undeliveredChannelEvents = await db.db
    .selectFrom('sandbox_events')
    .select(['event_id', 'attempts', 'last_error'])
    .where('delivered_at', 'is', null)
    .execute();
  const outbox = await db.db.selectFrom('outbox').selectAll().execute();

  const orderByNo = new Map(orders.map((order) => [order.out_trade_no, order]));
  const refundByNo = new Map(refunds.map((refund) => [refund.out_refund_no, refund]));
  const lastState = new Map<string, string>();
  for (const row of history) lastState.set(`${row.subject}:${row.subject_id}`, row.to_state);

  // 1. Every acknowledged creation exists, with the amounts it was acknowledged with.
  for (const [outTradeNo, ack] of acknowledged.orders) {
    const order = orderByNo.get(outTradeNo);
    if (!order) problems.push(`acknowledged order ${outTradeNo} is missing`);
    else if (order.amount_total !== ack.total || order.prepay_id !== ack.prepayId) {
      problems.push(`order ${outTradeNo}: acknowledged ${ack.total} / ${ack.prepayId}, stored ${order.amount_total} / ${order.prepay_id}`);
    }
  }
  for (const [outRefundNo, ack] of acknowledged.refunds) {
    const refund = refundByNo.get(outRefundNo);
    if (!refund) problems.push(`acknowledged refund ${outRefundNo} is missing`);
    else if (refund.amount_refund !== ack.amount || refund.out_trade_no !== ack.outTradeNo) {
      problems.push(
        `refund ${outRefundNo}: acknowledged ${ack.amount} on ${ack.outTradeNo}, stored ${refund.amount_refund} on ${refund.out_trade_no}`,
      );
    }
  }

  // 2. No order refunded beyond its payment; the order's counters agree with its refunds; no half-written change.
  for (const order of orders) {
    const own = refunds.filter((refund) => refund.order_id === order.id && refund.kind !== 'duplicate_payment');
    const held = own.filter((refund) => refund.status !== 'CLOSED').reduce((sum, refund) => sum + refund.amount_refund, 0);
    const succeeded = own.filter((refund) => refund.status === 'SUCCESS').reduce((sum, refund) => sum + refund.amount_refund, 0);
    if (held > order.amount_total) problems.push(`order ${order.out_trade_no}: refunds hold ${held} of ${order.amount_total}`);
    if (held > 0 && !tradeStatesPaid.has(order.trade_state))
      problems.push(`order ${order.out_trade_no}: ${order.trade_state} with refunds`);
    if (order.refund_reserved !== held || order.refund_succeeded !== succeeded || order.refund_count !== own.length) {
      problems.push(
        `order ${order.out_trade_no}: ` +
          `counters reserved/succeeded/count ${order.refund_reserved}/${order.refund_succeeded}/${order.refund_count}, ` +
          `refunds say ${held}/${succeeded}/${own.length}`,
      );
    }
    if (lastState.get(`order:${order.id}`) !== order.trade_state)
      problems.push(`order ${order.out_trade_no}: ${order.trade_state}, its history ends at ${lastState.get(`order:${order.id}`)}`);
  }
  for (const refund of refunds) {
    if (lastState.get(`refund:${refund.id}`) !== refund.status)
      problems.push(`refund ${refund.out_refund_no}: ${refund.status}, its history ends at ${lastState.get(`refund:${refund.id}`)}`);
    if (refund.status === 'PROCESSING') problems.push(`refund ${refund.out_refund_no} is still PROCESSING`);
  }

  // 3. Our states are the channel's.
  const sandboxOrderByNo = new Map(sandboxOrders.map((row) => [row.out_trade_no, row]));
  const sandboxRefundByNo = new Map(sandboxRefunds.map((row) => [row.out_refund_no, row]));
  for (const order of orders) {
    const channel = sandboxOrderByNo.get(order.out_trade_no);
    if (!channel) {
      if (acknowledged.orders.has(order.out_trade_no) || tradeStatesPaid.has(order.trade_state))
        problems.push(`order ${order.out_trade_no} (${order.trade_state}) is unknown to the channel`);
      continue;
    }
    if (channelStateOf[order.trade_state] !== channel.state)
      problems.push(`order ${order.out_trade_no}: ${order.trade_state} here, ${channel.state} on the channel`);
    if (tradeStatesPaid.has(order.trade_state) && order.channel_transaction_id !== channel.channel_transaction_id) {
      problems.push(
        `order ${order.out_trade_no}: channel transaction ${order.channel_transaction_id} here, ` +
          `${channel.channel_transaction_id} on the channel`,
      );
    }
  }
  for (const channel of sandboxOrders.filter((row) => row.out_trade_no.startsWith(prefix))) {
    if (!orderByNo.has(channel.out_trade_no))
      problems.push(`the channel has order ${channel.out_trade_no} (${channel.state}) that we do not`);
    const held = sandboxRefunds
      .filter((refund) => refund.order_id === channel.id && refund.state !== 'CLOSED')
      .reduce((sum, refund) => sum + refund.amount_refund, 0);
    if (held > channel.amount_total || held !== channel.refund_reserved)
      problems.push(
        `channel order ${channel.out_trade_no}: refunds hold ${held}, reserved ${channel.refund_reserved}, paid ${channel.amount_total}`,
      );
  }
  for (const refund of refunds) {
    const channel = sandboxRefundByNo.get(refund.out_refund_no);
    if (!channel) {
      if (refund.status !== 'CLOSED') problems.push(`refund ${refund.out_refund_no} (${refund.status}) is unknown to the channel`);
    } else if (channel.state !== refund.status) {
      problems.push(`refund ${refund.out_refund_no}: ${refund.status} here, ${channel.state} on the channel`);
    }
  }
  for (const channel of sandboxRefunds.filter((row) => row.out_refund_no.startsWith(prefix))) {
    if (!refundByNo.has(channel.out_refund_no))
      problems.push(`the channel has refund ${channel.out_refund_no} (${channel.state}) that we do not`);
  }
  if (undeliveredChannelEvents.length)
    problems.push(
      `${undeliveredChannelEvents.length} channel events not accepted yet: ${JSON.stringify(undeliveredChannelEvents.slice(0, 3))}`,
    );

  // 4. Every notified state change reached the notify_url; one outbox job per change; copies identical.
  const notices = new Map<string, typeof receiver.received>();
  for (const notice of receiver.received) notices.set(notice.id, [...(notices.get(notice.id) ?? []), notice]);
  let duplicates = 0;
  for (const [id, copies] of notices) {
    duplicates += copies.length - 1;
    const first = JSON.stringify(copies[0]!.resource);
    if (copies.some((copy) => copy.eventType !== copies[0]!.eventType || JSON.stringify(copy.resource) !== first))
      problems.push(`notification ${id}: its copies differ`);
  }
  const unique = [...notices.values()].map((copies) => copies[0]!);
  const expected: string[] = [];
  for (const order of orders.filter((row) => tradeStatesPaid.has(row.trade_state))) {
    expected.push(`TRANSACTION.SUCCESS ${order.out_trade_no}`);
    const notice = unique.filter((n) => n.eventType === 'TRANSACTION.SUCCESS' && n.resource.out_trade_no === order.out_trade_no);
    if (notice.length === 0) problems.push(`no TRANSACTION.SUCCESS reached the notify_url for ${order.out_trade_no}`);
    if (notice.length > 1) problems.push(`${notice.length} different TRANSACTION.SUCCESS notifications for ${order.out_trade_no}`);
    for (const n of notice) {
      if (
        n.resource.transaction_id !== order.transaction_id ||
        n.resource.amount?.total !== order.amount_total ||
        n.resource.trade_state !== 'SUCCESS'
      ) {
        problems.push(`TRANSACTION.SUCCESS for ${order.out_trade_no} says ${JSON.stringify(n.resource)}`);
      }
    }
  }
  for (const refund of refunds.filter((row) => row.status !== 'PROCESSING')) {
    expected.push(`REFUND.${refund.status} ${refund.out_refund_no}`);
    const notice = unique.filter((n) => n.eventType.startsWith('REFUND.') && n.resource.out_refund_no === refund.out_refund_no);
    if (notice.length !== 1)
      problems.push(`${notice.length} REFUND.* notifications reached the notify_url for ${refund.out_refund_no} (${refund.status})`);
    for (const n of notice) {
      if (
        n.eventType !== `REFUND.${refund.status}` ||
        n.resource.refund_status !== refund.status ||
        n.resource.amount?.refund !== refund.amount_refund
      ) {
        problems.push(
          `${n.eventType} for ${refund.out_refund_no} (${refund.status} ${refund.amount_refund}) says ${JSON.stringify(n.resource)}`,
        );
      }
    }
  }
  for (const notice of unique) {
    const order = notice.resource.out_trade_no ? orderByNo.get(notice.resource.out_trade_no) : undefined;
    if (!order) problems.push(`notification ${notice.id} (${notice.eventType}) names no order of this run`);
  }
  if (receiver.rejected.length)
    problems.push(`the notify_url refused ${receiver.rejected.length} requests: ${receiver.rejected.slice(0, 3).join('; ')}`);
  const notYetDelivered = outbox.filter((job) => job.status !== 'delivered');
  if (notYetDelivered.length) {
    const sample = notYetDelivered
      .slice(0, 3)
      .map((job) => [job.id, job.status, job.claimed_by, job.claim_expires_at, job.next_attempt_at, job.last_error]);
    problems.push(`${notYetDelivered.length} outbox jobs not delivered: ${JSON.stringify(sample)}`);
  }
  const jobsPerChange = new Map<string, number>();
  for (const job of outbox) {
    const key = `${job.subject_type}:${job.subject_id}:${(JSON.parse(job.payload_json) as { event_type?: string }).event_type}`;
    jobsPerChange.set(key, (jobsPerChange.get(key) ?? 0) + 1);
  }
  for (const [key, count] of jobsPerChange) if (count > 1) problems.push(`${count} outbox jobs for one state change ${key}`);

  return {
    problems,
    figures: {
      orders: orders.length,
      paid: orders.filter((row) => tradeStatesPaid.has(row.trade_state)).length,
      refunds: refunds.length,
      refundsByStatus: Object.fromEntries(
        ['SUCCESS', 'CLOSED', 'ABNORMAL', 'PROCESSING'].map((status) => [status, refunds.filter((row) => row.status === status).length]),
      ),
      notifiedChanges: expected.length,
      notificationsReceived: receiver.received.length,
      duplicateDeliveries: duplicates,
      outboxJobs: outbox.length,
      deliveryAttempts: outbox.reduce((sum, job) => sum + job.attempts, 0),
    },
  };
}

/** SQLite: the file's own checks. PostgreSQL: every foreign key re-checked by a query (the planner trusts them otherwise). */
async function integrityProblems(kind: DatabaseKind, db: DatabaseHandle): Promise<string[]> {
  if (kind === 'sqlite') {
    const integrity = (await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db.db)).rows.map(
      (row) => row.integrity_check,
    );
    const foreignKeys = (await sql<Record<string, unknown>>`pragma foreign_key_check`.execute(db.db)).rows;
    return [
      ...(integrity.join() === 'ok' ? [] : [`integrity_check: ${integrity.join('; ')}`]),
      ...foreignKeys.map((row) => `foreign_key_check: ${JSON.stringify(row)}`),
    ];
  }
  const childColumns = sql.raw(
    'array(select attname from unnest(c.conkey) with ordinality k(n, i) ' +
      'join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n order by k.i)',
  );
  const parentColumns = sql.raw(
    'array(select attname from unnest(c.confkey) with ordinality k(n, i) ' +
      'join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.n order by k.i)',
  );
  const constraints = await sql<{ child: string; parent: string; child_columns: string[]; parent_columns: string[]; name: string }>`
    select c.conname as name, cl.relname as child, pl.relname as parent,
      ${childColumns}::text[] as child_columns,
      ${parentColumns}::text[] as parent_columns
    from pg_constraint c
    join pg_class cl on cl.oid = c.conrelid join pg_namespace n on n.oid = cl.relnamespace
    join pg_class pl on pl.oid = c.confrelid
    where c.contype = 'f' and n.nspname = current_schema()`.execute(db.db);
  const problems: string[] = [];
  if (constraints.rows.length === 0) problems.push('no foreign keys found in the schema (the check would prove nothing)');
  for (const fk of constraints.rows) {
    const join = fk.child_columns.map((column, i) => sql`p.${sql.ref(fk.parent_columns[i]!)} = c.${sql.ref(column)}`);
    const notNull = fk.child_columns.map((column) => sql`c.${sql.ref(column)} is not null`);
    const parentRow = sql`select 1 from ${sql.table(fk.parent)} p where ${sql.join(join, sql` and `)}`;
    const orphans = await sql<{ count: string }>`
      select count(*) as count from ${sql.table(fk.child)} c
      where ${sql.join(notNull, sql` and `)} and not exists (${parentRow})`.execute(db.db);
    if (Number(orphans.rows[0]!.count) > 0)
      problems.push(`${fk.name}: ${orphans.rows[0]!.count} rows of ${fk.child} point at no ${fk.parent}`);
  }
  // Unique keys the gateway's idempotency rests on, counted rather than trusted.
  for (const [table, columns] of [
    ['orders', ['mchid', 'out_trade_no']],
    ['refunds', ['mchid', 'out_refund_no']],
    ['outbox', ['event_id']],
  ] as const) {
    const refs = columns.map((column) => sql.ref(column));
    const repeated = await sql<{
      count: string;
    }>`select count(*) as count from (select 1 from ${sql.table(table)} group by ${sql.join(refs)} having count(*) > 1) d`.execute(db.db);
    if (Number(repeated.rows[0]!.count) > 0) problems.push(`${table}: ${repeated.rows[0]!.count} repeated (${columns.join(', ')})`);
  }
  return problems;
}

describeOnEachDatabase('crash safety: SIGKILL under load, restart, nothing lost or doubled', (kind) => {
  it(
    `keeps every acknowledged order, refund and notification (${plan.kills} kills, ${plan.orders} orders, seed ${seed})`,
    { timeout: full ? 900_000 : 240_000 },
    async () => {
      const startedAt = Date.now();
      const random = seededRandom(seed + (kind === 'postgres' ? 1 : 0));
      const tag = `${(seed % 46656).toString(36).toUpperCase().padStart(3, '0')}${kind === 'postgres' ? 'P' : 'S'}`;
      const prefix = `CS${tag}`;
      const { orders, killAt } = planLoad(random, tag);
      console.log(
        `[crash-safety] ${kind}: seed ${seed} (replay: PAYTHROUGH_CRASH_SEED=${seed}), ` +
          `${plan.kills} kills, ${plan.orders} orders, ${plan.lanes} lanes`,
      );

      let database: CrashDatabase | undefined;
      let server: ServerProcess | undefined;
      let receiver: VerifyingNotifyReceiver | undefined;
      let auditDb: DatabaseHandle | undefined;
      const underCatalogLock = <T>(run: () => Promise<T>) => (kind === 'postgres' ? withSchemaCatalogLock('shared', run) : run());
      try {
        database = await createCrashDatabase(kind);
        const port = await freePort();
        const env = serverEnvironment(database, port);
        const demo = await underCatalogLock(() => runCli(['demo', '--json'], env));
        expect(demo.code, demo.stderr).toBe(0);
        const manifest = JSON.parse(demo.stdout) as DemoManifest;
        const merchant = readyMerchant(manifest);
        // Answers take 0-400 ms, so kills also land while a delivery is in flight (claimed, sent, not yet recorded).
        receiver = await new VerifyingNotifyReceiver(merchant, (n) => (n * 137) % 400).start();
        server = new ServerProcess(env, port, underCatalogLock);
        const tally: Tally = {
          prepaysAcknowledged: 0,
          paymentsAcknowledged: 0,
          failuresAcknowledged: 0,
          closesAcknowledged: 0,
          refundsAcknowledged: 0,
          refundsRefused: 0,
          refundSettlementsSent: 0,
          retriesAfterNoAnswer: 0,
          serverErrors: [],
          unexpectedAnswers: [],
          restartMs: [],
        };
        tally.restartMs.push(await server.start());
        const live = server;
        const baseUrl = live.baseUrl;
        const wxpay = new Wechatpay({
          baseURL: `${baseUrl}/`,
          mchid: merchant.mchid,
          serial: merchant.serialNo,
          privateKey: merchant.privateKeyPem,
          certs: { [merchant.platformSerial]: merchant.platformPublicKeyPem },
        });
        const acknowledged: Acknowledged = { orders: new Map(), refunds: new Map() };
        const unexpected = (label: string, answer: Answer<unknown>) =>
          tally.unexpectedAnswers.push(`${label}: HTTP ${answer.status} ${JSON.stringify(answer.data)}`);

        // The killer: one kill at a time, each after a seeded delay, then a restart on the same database.
        let killing: Promise<void> = Promise.resolve();
        const scheduleKill = (moment: { delayMs: number; downMs: number }) => {
          killing = killing.then(async () => {
            await sleep(moment.delayMs);
            await live.kill();
            await sleep(moment.downMs);
            tally.restartMs.push(await live.start());
          });
        };

        const queryOrder = (outTradeNo: string) =>
          untilAnswered(tally, `query ${outTradeNo}`, () =>
            wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.get({ params: { mchid: merchant.mchid }, out_trade_no: outTradeNo }),
          );

        const runRefund = async (order: PlannedOrder, refund: PlannedRefund) => {
          const answer = await untilAnswered(tally, `refund ${refund.outRefundNo}`, () =>
            wxpay.v3.refund.domestic.refunds.post({
              out_trade_no: order.outTradeNo,
              out_refund_no: refund.outRefundNo,
              reason: 'crash-safety',
              amount: { refund: refund.amount, total: order.total, currency: 'CNY' },
            }),
          );
          if (!answer.ok) {
            // More than refundable is the one refusal this load provokes.
            if (answer.status === 400 && /refundable/.test(String(answer.data?.message))) tally.refundsRefused += 1;
            else unexpected(`refund ${refund.outRefundNo}`, answer);
            return;
          }
          tally.refundsAcknowledged += 1;
          acknowledged.refunds.set(refund.outRefundNo, { outTradeNo: order.outTradeNo, amount: (answer.data as any).amount.refund });
          if (refund.settlement === 'auto') return;
          const settled = await untilAnswered(tally, `settle ${refund.outRefundNo}`, () =>
            sandboxPost(baseUrl, `/sandbox/v1/refunds/${refund.outRefundNo}/${refund.settlement}?mchid=${merchant.mchid}`),
          );
          tally.refundSettlementsSent += 1;
          // 409: the sandbox's own timer settled it first (a kill can hold the settle back past the refund delay).
          if (!settled.ok && settled.status !== 409) unexpected(`settle ${refund.outRefundNo}`, settled);
        };

        const runOrder = async (order: PlannedOrder) => {
          const moment = killAt.get(order.index);
          if (moment) scheduleKill(moment);
          const prepay = await untilAnswered(tally, `prepay ${order.outTradeNo}`, () =>
            wxpay.v3.pay.transactions.jsapi.post({
              appid: merchant.mnpId,
              mchid: merchant.mchid,
              description: `Crash safety ${order.index}`,
              out_trade_no: order.outTradeNo,
              notify_url: receiver!.url,
              amount: { total: order.total, currency: 'CNY' },
              payer: { openid: 'openid-crash' },
            }),
          );
          if (!prepay.ok) return unexpected(`prepay ${order.outTradeNo}`, prepay);
          const prepayId = (prepay.data as any).prepay_id as string;
          tally.prepaysAcknowledged += 1;
          acknowledged.orders.set(order.outTradeNo, { prepayId, total: order.total });
          if (order.fate === 'leave') return;
          if (order.fate === 'close' || order.fate === 'late') {
            const closed = await untilAnswered(tally, `close ${order.outTradeNo}`, () =>
              wxpay.v3.pay.transactions.outTradeNo.$out_trade_no$.close.post({ mchid: merchant.mchid }, { out_trade_no: order.outTradeNo }),
            );
            if (closed.ok) tally.closesAcknowledged += 1;
            else unexpected(`close ${order.outTradeNo}`, closed);
            if (order.fate === 'close') return;
          }
          // A late payment reaches a closed order: Paythrough takes it and refunds it in full by itself (SPEC §4.5).
          const outcome = order.fate === 'fail' ? 'fail' : 'succeed';
          const paid = await untilAnswered(tally, `${outcome} ${order.outTradeNo}`, () =>
            sandboxPost(baseUrl, `/sandbox/v1/payments/${prepayId}/${outcome}`, order.fate === 'late' ? { late: true } : {}),
          );
          if (!paid.ok) return unexpected(`${outcome} ${order.outTradeNo}`, paid);
          if (order.fate === 'fail') {
            tally.failuresAcknowledged += 1;
            return;
          }
          tally.paymentsAcknowledged += 1;
          // The merchant refunds once its order query shows the payment (a kill may delay the channel's event).
          const waitUntil = Date.now() + 60_000;
          for (;;) {
            const state = await queryOrder(order.outTradeNo);
            if (state.ok && tradeStatesPaid.has((state.data as any).trade_state)) break;
            if (Date.now() > waitUntil) return unexpected(`payment of ${order.outTradeNo} not applied within 60 s`, state);
            await sleep(200);
          }
          for (const group of order.refundGroups) await Promise.all(group.map((refund) => runRefund(order, refund)));
        };

        const queue = [...orders];
        await Promise.all(
          Array.from({ length: plan.lanes }, async () => {
            for (let order = queue.shift(); order; order = queue.shift()) await runOrder(order);
          }),
        );
        await killing;
        const loadMs = Date.now() - startedAt;

        // The server is up again: give the outbox, the channel's events and its refund timer time to settle.
        auditDb = database.open();
        const drainStartedAt = Date.now();
        let report = await audit(auditDb, merchant, prefix, acknowledged, receiver);
        const waitingAtFirst = report.problems.slice(0, 8);
        while (report.problems.length > 0 && Date.now() - drainStartedAt < plan.drainMs) {
          await sleep(500);
          report = await audit(auditDb, merchant, prefix, acknowledged, receiver);
        }
        const drainMs = Date.now() - drainStartedAt;

        // Query both sides over their APIs: the gateway's trade_state and the channel's view of each order.
        for (const [outTradeNo, ack] of acknowledged.orders) {
          const ours = await queryOrder(outTradeNo);
          const channel = await fetch(`${baseUrl}/sandbox/v1/payments/${ack.prepayId}`).then((response) => response.json() as Promise<any>);
          const ourState = ours.ok ? (ours.data as any).trade_state : `HTTP ${ours.status}`;
          if (channelStateOf[ourState] !== channel.state)
            report.problems.push(`order ${outTradeNo}: the gateway says ${ourState}, the channel's API ${channel.state}`);
        }

        // A last kill, then the file / schema checks on what the kill left.
        await server.kill();
        const integrity = await integrityProblems(kind, auditDb);
        const summary = {
          bench: 'crash-safety',
          database: kind,
          seed,
          kills: server.kills,
          starts: server.starts,
          restartMsMax: Math.max(...tally.restartMs),
          ...report.figures,
          prepaysAcknowledged: tally.prepaysAcknowledged,
          paymentsAcknowledged: tally.paymentsAcknowledged,
          refundsAcknowledged: tally.refundsAcknowledged,
          refundsRefusedOverPaid: tally.refundsRefused,
          retriesAfterNoAnswer: tally.retriesAfterNoAnswer,
          loadMs,
          drainMs,
          totalMs: Date.now() - startedAt,
          waitingAtFirst,
        };
        console.log(`[crash-safety] ${JSON.stringify(summary)}`);
        const context = `seed ${seed}; server log tail:\n${server.log.slice(-15).join('\n')}`;
        expect(tally.serverErrors, context).toEqual([]);
        expect(tally.unexpectedAnswers, context).toEqual([]);
        expect(report.problems, context).toEqual([]);
        expect(integrity, context).toEqual([]);
        // The load did what it claims: kills happened, money moved, refunds and notifications were exercised.
        expect(server.kills).toBe(Math.min(plan.kills, Math.max(1, plan.orders - 3)) + 1);
        expect(tally.paymentsAcknowledged).toBeGreaterThan(0);
        expect(report.figures.notifiedChanges).toBeGreaterThan(tally.paymentsAcknowledged);
      } finally {
        await server?.kill();
        await auditDb?.close();
        await receiver?.stop();
        await database?.drop();
      }
    },
  );
});
