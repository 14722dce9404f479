import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConsoleClient } from '../helpers/console-client.ts';
import { signIn, snapshotDatabase } from '../helpers/factories.ts';
import { createPaymentWorld, type PaymentWorld } from '../helpers/payment-world.ts';
import { insertNotification, insertOrder, insertRefund, type OrderOwner } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

const hour = 60 * 60 * 1000;

/** The notification delivery log's console routes (SPEC §5): /api/v1/notifications, details, resend. */
describeOnEachDatabase('notification log console API', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let other: PaymentWorld;
  let now: number;
  let operator: ConsoleClient;
  let notificationIds: number[];
  let refundNotificationId: number;
  let foreignNotificationId: number;

  beforeAll(async () => {
    context = await createTestContext(kind);
    now = Date.UTC(2026, 5, 15, 4, 0, 0);
    context.clock.set(now);
    world = await createPaymentWorld(context);
    other = await createPaymentWorld(context);
    const owner: OrderOwner = {
      mnpId: world.mnpId,
      applicationId: world.applicationId,
      miniProgramTeamId: world.teamId,
      superappTeamId: world.tenant.superappTeamId,
    };
    const foreignOwner: OrderOwner = {
      mnpId: other.mnpId,
      applicationId: other.applicationId,
      miniProgramTeamId: other.teamId,
      superappTeamId: other.tenant.superappTeamId,
    };
    const db = context.database.db;
    notificationIds = [];
    for (let index = 0; index < 5; index++) {
      const order = await insertOrder(db, owner, { createdAt: now - (index + 1) * hour, outTradeNo: `API-${index}` });
      notificationIds.push((await insertNotification(db, { type: 'order', id: order.id }, owner, now - (index + 1) * hour + 1000)).id);
    }
    const refunded = await insertOrder(db, owner, { createdAt: now - 10 * day, outTradeNo: 'API-REFUNDED', tradeState: 'REFUND' });
    const refund = await insertRefund(db, refunded, { createdAt: now - 2 * day, amount: 10, outRefundNo: 'API-RF' });
    refundNotificationId = (await insertNotification(db, { type: 'refund', id: refund.id }, owner, now - 2 * day)).id;
    const foreign = await insertOrder(db, foreignOwner, { createdAt: now - hour, outTradeNo: 'API-FOREIGN', mchid: '1900000077' });
    foreignNotificationId = (await insertNotification(db, { type: 'order', id: foreign.id }, foreignOwner, now - hour)).id;
    operator = await signIn(context, world.tenant.members['mp:operator']);
  });
  afterAll(() => context?.close());

  it('lists the caller’s notifications newest first, by cursor pages, with filters', async () => {
    const first = await operator.get('/notifications?limit=4');
    expect(first.statusCode).toBe(200);
    expect(first.body.range).toEqual({ createdFrom: now - 7 * day, createdTo: now });
    expect(first.body.items.map((item: { id: number }) => item.id)).toEqual(notificationIds.slice(0, 4));
    expect(first.body.items[0]).toMatchObject({
      eventType: 'TRANSACTION.SUCCESS',
      status: 'failed',
      attempts: 1,
      lastHttpStatus: 500,
      targetHost: 'merchant.example',
      subject: { type: 'order', outTradeNo: 'API-0' },
    });
    const second = await operator.get(`/notifications?limit=4&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.items.map((item: { id: number }) => item.id)).toEqual([notificationIds[4], refundNotificationId]);
    expect(second.body.nextCursor).toBeNull();
    const refunds = await operator.get('/notifications?eventType=REFUND.SUCCESS,REFUND.CLOSED&status=failed,pending');
    expect(refunds.body.items).toEqual([
      expect.objectContaining({
        id: refundNotificationId,
        subject: expect.objectContaining({ type: 'refund', outTradeNo: 'API-REFUNDED', outRefundNo: 'API-RF' }),
      }),
    ]);
    const byNumber = await operator.get(`/notifications?outTradeNo=API-REFUNDED&mnpId=${world.mnpId}`);
    expect(byNumber.body.items.map((item: { id: number }) => item.id)).toEqual([refundNotificationId]);
    const detail = await operator.get(`/notifications/${notificationIds[0]}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.body).toMatchObject({
      id: notificationIds[0],
      targetUrl: 'https://merchant.example/notify',
      deliveryAttempts: [{ attemptNo: 1, outcome: 'failed', httpStatus: 500 }],
    });
  });

  it('answers bad input in the console error format, changing nothing', async () => {
    const before = await snapshotDatabase(context.database.db);
    const cases: [string, number, string, string | undefined][] = [
      ['/notifications?status=bouncing', 400, 'InvalidParameterValue', 'status'],
      ['/notifications?eventType=TRANSACTIONXSUCCESS', 400, 'InvalidParameterValue', 'eventType'],
      ['/notifications?limit=101', 400, 'InvalidParameterValue', 'limit'],
      ['/notifications?cursor=garbage', 400, 'InvalidParameterValue', 'cursor'],
      ['/notifications?outTradeNo=A%00B', 400, 'InvalidParameterValue', 'outTradeNo'],
      [`/notifications?createdFrom=${now - 40 * day}&createdTo=${now}`, 400, 'InvalidParameterValue.TimeRangeExceeded', 'createdFrom'],
      [`/notifications?createdFrom=${now}&createdTo=${now - 1}`, 400, 'InvalidParameterValue', 'createdTo'],
      ['/notifications/abc', 404, 'ResourceNotFound', undefined],
      ['/notifications/999999999', 404, 'ResourceNotFound', undefined],
    ];
    for (const [url, status, code, field] of cases) {
      const response = await operator.get(url);
      expect(response.statusCode, url).toBe(status);
      expect(response.body.error, url).toMatchObject({ code, message: expect.any(String) });
      if (field) expect(response.body.error.details.field, url).toBe(field);
    }
    expect((await operator.get(`/notifications?createdFrom=${now - 40 * day}&createdTo=${now}`)).body.error.message).toContain('31 days');
    const madeUp = await operator.post('/notifications/999999999/resend', {});
    expect(madeUp.statusCode).toBe(404);
    expect(madeUp.body).toEqual({ error: { code: 'ResourceNotFound', message: 'Notification not found' } });
    // No CSRF header: refused before anything runs.
    const noCsrf = await context.app.inject({
      method: 'POST',
      url: `/api/v1/notifications/${notificationIds[0]}/resend`,
      headers: { cookie: operator.cookieHeader },
    });
    expect(noCsrf.statusCode).toBe(403);
    expect(noCsrf.json().error.code).toBe('AuthFailure.CsrfTokenInvalid');
    expect(await snapshotDatabase(context.database.db)).toEqual(before);
  });

  it('another tenant’s notification answers exactly like a made-up id; review staff are refused the list', async () => {
    const outsider = await signIn(context, other.tenant.members['sa:administrator']);
    const reviewer = await signIn(context, world.tenant.members['sa:reviewer']);
    const admin = await signIn(context, world.adminUsers.platform_admin);
    const before = await snapshotDatabase(context.database.db);
    for (const [method, suffix] of [
      ['GET', ''],
      ['POST', '/resend'],
    ] as const) {
      const guessed = await outsider.request(method, `/notifications/${notificationIds[0]}${suffix}`, method === 'POST' ? {} : undefined);
      const invented = await outsider.request(method, `/notifications/987654321${suffix}`, method === 'POST' ? {} : undefined);
      expect(guessed.statusCode).toBe(404);
      expect([guessed.statusCode, guessed.body]).toEqual([invented.statusCode, invented.body]);
    }
    const outsiderList = await outsider.get('/notifications');
    expect(outsiderList.body.items.map((item: { id: number }) => item.id)).toEqual([foreignNotificationId]);
    const refused = await reviewer.get('/notifications');
    expect(refused.statusCode).toBe(403);
    expect(refused.body.error.code).toBe('UnauthorizedOperation');
    expect((await reviewer.get(`/notifications/${notificationIds[0]}`)).statusCode).toBe(404);
    const all = await admin.get('/notifications?limit=100');
    expect(all.body.items.map((item: { id: number }) => item.id)).toEqual(
      expect.arrayContaining([...notificationIds, refundNotificationId, foreignNotificationId]),
    );
    expect(await snapshotDatabase(context.database.db)).toEqual(before);
  });

  it('resends: a new round now, audited with the request', async () => {
    const superappDeveloper = await signIn(context, world.tenant.members['sa:developer']);
    const response = await superappDeveloper.post(`/notifications/${refundNotificationId}/resend`, {});
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ id: refundNotificationId, status: 'pending', manual: true, nextAttemptAt: now, attempts: 1 });
    const row = await context.database.db.selectFrom('outbox').selectAll().where('id', '=', refundNotificationId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', round_attempts: 0, manual: 1, failed_at: null });
    const audit = await context.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_type', '=', 'notification')
      .where('target_id', '=', String(refundNotificationId))
      .execute();
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'order.notification.resend',
        target_type: 'notification',
        team_id: world.teamId,
        request_id: expect.any(String),
      }),
    ]);
    expect(JSON.parse(audit[0]!.before_json!)).toEqual({ status: 'failed', attempts: 1 });
  });
});
