import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationLogMigration } from '../../src/db/migrations/0013-notification-log.ts';
import type { Actor } from '../../src/domain/access.ts';
import { OutboxWorker } from '../../src/jobs/outbox-worker.ts';
import type { DeliveryResult } from '../../src/services/payments/index.ts';
import type { NotificationEventType } from '../../src/services/payments/notification.service.ts';
import type { NotificationLogQuery } from '../../src/services/records/notification-log.service.ts';
import { expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import { createRecordTenants, insertNotification, insertOrder, insertRefund, type OrderOwner } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

const minute = 60 * 1000;
const hour = 60 * minute;
// 2026-06-15 12:00 in Shanghai.
const now = Date.UTC(2026, 5, 15, 4, 0, 0);

type Order = Awaited<ReturnType<typeof insertOrder>>;

describeOnEachDatabase('notification delivery log', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let other: PaymentWorld;
  let teamA: OrderOwner;
  let teamB: OrderOwner;
  let otherTenant: OrderOwner;
  let developerB: Actor;
  /** Team A's notifications, newest first (as the log lists them). */
  let teamAIds: number[];
  let refundedOrder: Order;
  let refundNotificationIds: number[];
  let teamBNotificationId: number;
  let foreignNotificationId: number;
  /** Team A's newest failed notification (order A-00). */
  let failedNotificationId: number;

  /** A notification written the way the app writes one: NotificationService.enqueue in the state change's transaction. */
  async function enqueue(
    order: Order,
    eventType: NotificationEventType,
    at: number,
    subject: { type: 'order' | 'refund'; id: number } = { type: 'order', id: order.id },
  ) {
    context.clock.set(at);
    const row = await context.database.db.transaction().execute((trx) =>
      context.services.notifications.enqueue(trx, {
        eventType,
        appId: order.mnp_id,
        mchid: order.mchid,
        notifyUrl: 'https://shop.example:8443/pay/notify?token=secret',
        resource: { out_trade_no: order.out_trade_no },
        sandbox: true,
        subject,
        owners: {
          mnpId: order.mnp_id,
          applicationId: order.application_id,
          miniProgramTeamId: order.mini_program_team_id,
          superappTeamId: order.superapp_team_id,
        },
      }),
    );
    context.clock.set(now);
    return row;
  }

  const list = (actor: Actor, query: NotificationLogQuery = {}, limit = 100) =>
    context.services.notificationLog.list(actor, query, { limit });
  const ids = (page: { items: { id: number }[] }) => page.items.map((item) => item.id);

  beforeAll(async () => {
    context = await createTestContext(kind);
    context.clock.set(now);
    ({ world, other, teamA, teamB, otherTenant, developerB } = await createRecordTenants(context));
    const db = context.database.db;

    // Team A: 24 orders, one notification each, two per created_at (ties broken by id), an hour apart; every
    // third one delivered, every third pending (and due), the rest failed.
    for (let index = 0; index < 24; index++) {
      const at = now - Math.floor(index / 2) * hour - minute;
      const order = await insertOrder(db, teamA, { createdAt: at - minute, outTradeNo: `A-${String(index).padStart(2, '0')}` });
      const row = await insertNotification(db, { type: 'order', id: order.id }, teamA, at);
      if (index === 0) failedNotificationId = row.id;
      if (index % 3 === 1)
        await db
          .updateTable('outbox')
          .set({ status: 'delivered', delivered_at: at + 1000, failed_at: null, last_error: null, last_http_status: 204 })
          .where('id', '=', row.id)
          .execute();
      if (index % 3 === 2)
        await db
          .updateTable('outbox')
          .set({ status: 'pending', failed_at: null, next_attempt_at: now + hour })
          .where('id', '=', row.id)
          .execute();
    }
    // A refunded order (3 days ago) with two refunds: one notification about the order, one per refund, through the app's path.
    refundedOrder = await insertOrder(db, teamA, {
      createdAt: now - 3 * day - hour,
      outTradeNo: 'A-REFUNDED',
      tradeState: 'REFUND',
      amount: 9000,
    });
    const refund1 = await insertRefund(db, refundedOrder, { createdAt: now - 3 * day, amount: 1000, outRefundNo: 'A-RF-1' });
    const refund2 = await insertRefund(db, refundedOrder, {
      createdAt: now - 2 * day,
      amount: 500,
      outRefundNo: 'A-RF-2',
      status: 'CLOSED',
    });
    await enqueue(refundedOrder, 'TRANSACTION.SUCCESS', now - 3 * day - 50 * minute);
    refundNotificationIds = [
      (await enqueue(refundedOrder, 'REFUND.SUCCESS', now - 3 * day + minute, { type: 'refund', id: refund1.id })).id,
      (await enqueue(refundedOrder, 'REFUND.CLOSED', now - 2 * day + minute, { type: 'refund', id: refund2.id })).id,
    ];
    // Older than the default 7 days, and older than 31.
    const old = await insertOrder(db, teamA, { createdAt: now - 20 * day, outTradeNo: 'A-OLD' });
    await insertNotification(db, { type: 'order', id: old.id }, teamA, now - 20 * day);
    const ancient = await insertOrder(db, teamA, { createdAt: now - 40 * day, outTradeNo: 'A-ANCIENT' });
    await insertNotification(db, { type: 'order', id: ancient.id }, teamA, now - 40 * day);

    const orderB = await insertOrder(db, teamB, { createdAt: now - 2 * hour, outTradeNo: 'B-ORDER' });
    teamBNotificationId = (await enqueue(orderB, 'TRANSACTION.SUCCESS', now - 2 * hour + 30_000)).id;
    // Another merchant's order with the same out_trade_no as one of team A's.
    const foreignOrder = await insertOrder(db, otherTenant, { createdAt: now - 2 * hour, outTradeNo: 'A-00', mchid: '1900000099' });
    foreignNotificationId = (await insertNotification(db, { type: 'order', id: foreignOrder.id }, otherTenant, now - 90 * minute)).id;

    const sevenDaysAgo = now - 7 * day;
    teamAIds = (
      await db
        .selectFrom('outbox')
        .select('id')
        .where('mini_program_team_id', '=', world.teamId)
        .where('created_at', '>=', sevenDaysAgo)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
    ).map((row) => row.id);
  });
  afterAll(() => context?.close());

  describe('list', () => {
    it('pages the past 7 days by cursor, newest first, ties broken by id, nothing twice or lost', async () => {
      expect(teamAIds).toHaveLength(27);
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await context.services.notificationLog.list(world.as['mp:operator'], {}, { cursor, limit: 10 });
        expect(page.range).toEqual({ createdFrom: now - 7 * day, createdTo: now });
        seen.push(...ids(page));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual(teamAIds);
    });

    it('pages oldest first when asked: the exact reverse; a cursor of the other order is refused', async () => {
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await context.services.notificationLog.list(world.as['mp:operator'], { sort: 'oldest' }, { cursor, limit: 10 });
        seen.push(...ids(page));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual([...teamAIds].reverse());
      const newestFirst = await context.services.notificationLog.list(world.as['mp:operator'], {}, { limit: 10 });
      await expect(
        context.services.notificationLog.list(world.as['mp:operator'], { sort: 'oldest' }, { cursor: newestFirst.nextCursor!, limit: 10 }),
      ).rejects.toThrow(/cursor: from a list sorted newest first/);
    });

    it('shows the subject with its number, the mini program, the last attempt and the target host only', async () => {
      const page = await list(world.as['mp:operator'], { outRefundNo: 'A-RF-1' });
      expect(page.items).toHaveLength(1);
      expect(page.items[0]).toMatchObject({
        id: refundNotificationIds[0],
        eventType: 'REFUND.SUCCESS',
        subject: { type: 'refund', orderId: refundedOrder.id, outTradeNo: 'A-REFUNDED', outRefundNo: 'A-RF-1' },
        mnpId: world.mnpId,
        mnpName: expect.any(String),
        status: 'pending',
        delivering: false,
        attempts: 0,
        lastAttemptAt: null,
        nextAttemptAt: now - 3 * day + minute,
        targetHost: 'shop.example:8443',
      });
      expect(JSON.stringify(page.items[0])).not.toContain('token=secret');
      const failed = (await list(world.as['mp:operator'], { outTradeNo: 'A-00' })).items;
      expect(failed).toEqual([
        expect.objectContaining({
          status: 'failed',
          attempts: 1,
          lastHttpStatus: 500,
          lastError: 'HTTP 500',
          subject: expect.objectContaining({ type: 'order', outTradeNo: 'A-00', outRefundNo: null }),
        }),
      ]);
      expect(failed[0]!.lastAttemptAt).toBe(failed[0]!.createdAt + 500);
    });

    it('filters by status, event type, mini program, created range and exact numbers', async () => {
      const operator = world.as['mp:operator'];
      const failed = await list(operator, { statuses: ['failed'] });
      expect(failed.items.length).toBe(8);
      expect(failed.items.every((item) => item.status === 'failed')).toBe(true);
      expect((await list(operator, { statuses: ['delivered', 'pending'] })).items).toHaveLength(27 - 8);
      expect(ids(await list(operator, { eventTypes: ['REFUND.SUCCESS', 'REFUND.CLOSED'] }))).toEqual([...refundNotificationIds].reverse());
      // The event type is a column the app fills in when it enqueues.
      expect((await list(operator, { eventTypes: ['TRANSACTION.SUCCESS'] })).items).toHaveLength(25);
      expect(ids(await list(operator, { createdFrom: now - 3 * hour, createdTo: now - hour }))).toEqual(teamAIds.slice(2, 6));
      // An order's number brings its refunds' notifications; a refund number only that refund's.
      const byOrder = await list(operator, { outTradeNo: 'A-REFUNDED' });
      expect(byOrder.items.map((item) => item.eventType)).toEqual(['REFUND.CLOSED', 'REFUND.SUCCESS', 'TRANSACTION.SUCCESS']);
      expect(ids(await list(operator, { outTradeNo: 'A-REFUNDED', outRefundNo: 'A-RF-2' }))).toEqual([refundNotificationIds[1]]);
      expect((await list(operator, { outTradeNo: 'NO-SUCH-ORDER' })).items).toEqual([]);
      expect((await list(operator, { outRefundNo: 'A-RF-2', outTradeNo: 'A-00' })).items).toEqual([]);
      // With a number and no range the log looks 31 days back (the 20-day-old one), never 40.
      expect((await list(operator, { outTradeNo: 'A-OLD' })).items).toHaveLength(1);
      expect((await list(operator, { outTradeNo: 'A-ANCIENT' })).items).toHaveLength(0);
      expect(
        (await list(operator, { outTradeNo: 'A-ANCIENT', createdFrom: now - 41 * day, createdTo: now - 39 * day })).items,
      ).toHaveLength(1);
      const bySuperapp = world.as['sa:operator'];
      expect(ids(await list(bySuperapp, { mnpIds: [teamB.mnpId] }))).toEqual([teamBNotificationId]);
      expect((await list(bySuperapp, { mnpIds: [teamA.mnpId] })).items).toHaveLength(27);
    });

    it('searches at most 31 days at once: a longer range, a reversed one and a bad cursor are refused', async () => {
      const operator = world.as['mp:operator'];
      const error = await expectCode(
        list(operator, { createdFrom: now - 31 * day - 1, createdTo: now }),
        'InvalidParameterValue.TimeRangeExceeded',
      );
      expect(error.message).toContain('31 days');
      expect(error.details).toMatchObject({ field: 'createdFrom' });
      await expectCode(list(operator, { createdFrom: now - 40 * day }), 'InvalidParameterValue.TimeRangeExceeded');
      expect((await list(operator, { createdFrom: now - 31 * day, createdTo: now })).items).toHaveLength(28);
      await expectCode(list(operator, { createdFrom: now, createdTo: now - 1 }), 'InvalidParameterValue');
      await expectCode(context.services.notificationLog.list(operator, {}, { cursor: 'not-a-cursor', limit: 10 }), 'InvalidParameterValue');
    });

    it('marks a pending notification a worker holds right now as delivering', async () => {
      const id = refundNotificationIds[1]!;
      await context.database.db
        .updateTable('outbox')
        .set({ claimed_by: 'w', claim_token: 't', claim_expires_at: now + 10_000 })
        .where('id', '=', id)
        .execute();
      try {
        expect((await list(world.as['mp:operator'], { outRefundNo: 'A-RF-2' })).items[0]).toMatchObject({
          status: 'pending',
          delivering: true,
        });
      } finally {
        await context.database.db
          .updateTable('outbox')
          .set({ claimed_by: null, claim_token: null, claim_expires_at: null })
          .where('id', '=', id)
          .execute();
      }
    });
  });

  describe('visibility: exactly the Order record’s', () => {
    it('a mini program team sees its own; the superapp team all of its mini programs; admins everything', async () => {
      expect(ids(await list(world.as['mp:developer']))).toEqual(teamAIds);
      expect(ids(await list(developerB))).toEqual([teamBNotificationId]);
      const superapp = ids(await list(world.as['sa:developer']));
      expect(superapp).toHaveLength(28);
      expect(superapp).toContain(teamBNotificationId);
      expect(superapp).not.toContain(foreignNotificationId);
      for (const admin of [world.superAdmin, world.platformAdmin]) {
        const all = ids(await list(admin));
        expect(all).toHaveLength(29);
        expect(all).toContain(foreignNotificationId);
      }
      expect(ids(await list(other.as['mp:administrator']))).toEqual([foreignNotificationId]);
    });

    it('another team or tenant finds nothing: numbers match nothing, ids are not found like made-up ones', async () => {
      expect((await list(developerB, { outTradeNo: 'A-REFUNDED' })).items).toEqual([]);
      expect(ids(await list(other.as['sa:administrator'], { outTradeNo: 'A-00' }))).toEqual([foreignNotificationId]);
      const madeUp = await expectCode(context.services.notificationLog.detail(developerB, 999_999_999), 'ResourceNotFound');
      for (const [actor, id] of [
        [developerB, teamAIds[0]!],
        [other.as['sa:administrator'], teamAIds[0]!],
        [world.as['mp:administrator'], foreignNotificationId],
        [world.reviewer, teamAIds[0]!],
      ] as const) {
        const error = await expectCode(context.services.notificationLog.detail(actor, id), 'ResourceNotFound');
        expect(error.message).toBe(madeUp.message);
        await expectCode(context.services.notificationLog.resend(actor, id), 'ResourceNotFound');
      }
      await expectCode(list(developerB, { mnpIds: [teamA.mnpId] }), 'ResourceNotFound');
      await expectCode(list(world.reviewer), 'UnauthorizedOperation');
    });
  });

  describe('details and resend', () => {
    it('details list every attempt; resend starts a new round, audited as the order’s resend, delivered by the worker', async () => {
      const id = failedNotificationId;
      const operator = world.as['mp:operator'];
      const before = await context.services.notificationLog.detail(operator, id);
      expect(before).toMatchObject({ id, status: 'failed', attempts: 1, targetUrl: 'https://merchant.example/notify', manual: false });
      expect(before.deliveryAttempts).toEqual([
        expect.objectContaining({ attemptNo: 1, manual: false, outcome: 'failed', httpStatus: 500, responseExcerpt: 'oops' }),
      ]);

      context.clock.set(now + minute);
      const resent = await context.services.notificationLog.resend(operator, id, 'req-resend-1');
      expect(resent).toMatchObject({ id, status: 'pending', manual: true, nextAttemptAt: now + minute, attempts: 1 });
      const audit = await context.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'order.notification.resend')
        .where('target_id', '=', String(id))
        .execute();
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ target_type: 'notification', team_id: world.teamId, actor_user_id: expect.any(String) });

      // The worker's next pass delivers the new round; the attempt is marked manual.
      const delivered: number[] = [];
      const handler = {
        deliver: async (job: { id: number }): Promise<DeliveryResult> => {
          delivered.push(job.id);
          return { delivered: true, httpStatus: 200, responseExcerpt: 'ok' };
        },
      };
      await new OutboxWorker({
        db: context.database.db,
        kind,
        clock: context.clock,
        handlers: { merchant_notification: handler },
        workerId: 'log-test',
      }).runOnce();
      expect(delivered).toContain(id);
      const after = await context.services.notificationLog.detail(operator, id);
      expect(after).toMatchObject({ status: 'delivered', attempts: 2, lastHttpStatus: 200, lastAttemptAt: now + minute, manual: false });
      expect(after.deliveryAttempts.map((attempt) => [attempt.attemptNo, attempt.manual, attempt.outcome])).toEqual([
        [1, false, 'failed'],
        [2, true, 'delivered'],
      ]);
      // A refund's notification resends through its order.
      await context.services.notificationLog.resend(world.as['sa:operator'], refundNotificationIds[0]!);
      const refundAudit = await context.database.db
        .selectFrom('audit_log')
        .select('after_json')
        .where('target_type', '=', 'notification')
        .where('target_id', '=', String(refundNotificationIds[0]))
        .executeTakeFirstOrThrow();
      expect(refundAudit.after_json).toContain('A-REFUNDED');
      context.clock.set(now);
    });
  });
});

describeOnEachDatabase('migration 0013 on an outbox that already has rows', (kind) => {
  it('fills in the event type from merchant notifications’ payloads and of host refund webhooks', async () => {
    const context = await createTestContext(kind);
    try {
      const db = context.database.db;
      // Back to the outbox as 0012 left it, with rows written before the column existed.
      await db.schema.dropIndex('outbox_mp_team_created').execute();
      await db.schema.dropIndex('outbox_application_created').execute();
      await db.schema.alterTable('outbox').dropColumn('event_type').execute();
      const columns = sql.raw(
        'event_id, topic, payload_json, sandbox, subject_type, subject_id, status, attempts, ' +
          'round_attempts, manual, created_at, updated_at',
      );
      const refundClosed = JSON.stringify({ id: 'a', event_type: 'REFUND.CLOSED', resource: { x: 1 } });
      const webhook = JSON.stringify({ applicationId: 'app', body: '{"event_type":"refund.requested"}' });
      await sql`insert into outbox (${columns})
        values ('a', 'merchant_notification', ${refundClosed}, 0, 'refund', '1', 'failed', 15, 15, 0, 1, 1),
               ('b', 'host_refund_webhook', ${webhook}, 0, 'refund', '2', 'pending', 0, 0, 0, 2, 2),
               ('c', 'test-topic', '{}', 0, null, null, 'delivered', 1, 1, 0, 3, 3)`.execute(db);
      await notificationLogMigration(kind).up(db as unknown as Kysely<unknown>);
      const rows = await db.selectFrom('outbox').select(['event_id', 'event_type']).orderBy('event_id').execute();
      expect(rows).toEqual([
        { event_id: 'a', event_type: 'REFUND.CLOSED' },
        { event_id: 'b', event_type: 'refund.requested' },
        { event_id: 'c', event_type: null },
      ]);
    } finally {
      await context.close();
    }
  });
});
