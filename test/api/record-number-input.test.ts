import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import type { ConsoleClient } from '../helpers/console-client.ts';
import { signIn, snapshotDatabase } from '../helpers/factories.ts';
import { callAction, managementClient } from '../helpers/management-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * Order and refund numbers searched for in the records (console lists and exports, the notification log,
 * the management API's list actions) with a control character in them: a parameter error naming the
 * field, in each surface's format, never a 500 (PostgreSQL's text refuses NUL) and never a change.
 */
describeOnEachDatabase('record numbers with control characters', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let console_: ConsoleClient;
  let baseUrl: string;

  beforeAll(async () => {
    context = await createTestContext(kind, { backgroundJobs: false });
    // TC3 signatures carry the wall clock's time.
    context.clock.set(Date.now());
    baseUrl = await context.app.listen({ port: 0, host: '127.0.0.1' });
    manifest = await context.services.demoWorld.ensure();
    console_ = await signIn(context, manifest.miniProgramTeam.users.operator);
  });
  afterAll(() => context?.close());

  it('the console answers 400 InvalidParameterValue naming the field', async () => {
    const before = await snapshotDatabase(context.database.db);
    const bad = encodeURIComponent('A\u0000B');
    const gets: [string, string][] = [
      [`/orders?outTradeNo=${bad}`, 'outTradeNo'],
      [`/orders?transactionId=${bad}`, 'transactionId'],
      [`/refunds?orderNo=${bad}`, 'orderNo'],
      [`/refunds?refundNo=${encodeURIComponent('R\u0007')}`, 'refundNo'],
      [`/notifications?outTradeNo=${bad}`, 'outTradeNo'],
      [`/notifications?outRefundNo=${bad}`, 'outRefundNo'],
    ];
    for (const [url, field] of gets) {
      const response = await console_.get(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.body.error, url).toMatchObject({ code: 'InvalidParameterValue', details: { field } });
    }
    for (const [url, body, field] of [
      ['/orders/exports', { format: 'csv', outTradeNo: 'A\u0000B' }, 'outTradeNo'],
      ['/refunds/exports', { format: 'csv', orderNo: 'A\u0000B' }, 'orderNo'],
    ] as const) {
      const response = await console_.post(url, body);
      expect(response.statusCode, url).toBe(400);
      expect(response.body.error, url).toMatchObject({ code: 'InvalidParameterValue', details: { field } });
    }
    // A number without one still searches.
    expect((await console_.get('/orders?outTradeNo=A-B')).statusCode).toBe(200);
    expect(await snapshotDatabase(context.database.db)).toEqual(before);
  });

  it('the management API answers InvalidParameterValue', async () => {
    const client = managementClient(baseUrl, manifest.miniProgramTeam.users.operator);
    const call = (action: string, params: Record<string, unknown>) =>
      callAction(client, action, { PlatformId: manifest.platformId, ...params });
    for (const [action, params] of [
      ['DescribePaymentOrderList', { OutTradeNo: 'A\u0000B' }],
      ['DescribePaymentOrderList', { TransactionId: 'A\u0000B' }],
      ['DescribePaymentRefundList', { OrderNo: 'A\u0000B' }],
      ['DescribePaymentRefundList', { RefundNo: 'A\u0000B' }],
    ] as const) {
      const answer = await call(action, params);
      expect(answer.error?.code, `${action} ${Object.keys(params)[0]}`).toBe('InvalidParameterValue');
    }
    expect(await call('DescribePaymentOrderList', { OutTradeNo: 'A-B' })).toEqual({ Total: 0, List: [] });
  });
});
