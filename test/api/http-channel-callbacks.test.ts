import { afterAll, beforeAll, expect, it } from 'vitest';
import { channelCallbackPath, signChannelMessage } from '../../src/channels/protocol.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { orderRow } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const channelKey = 'k'.repeat(16) + 'HttpChannelKey0123456789';

/** The app mounts the HTTP channel protocol's callback route: a superapp's signed events reach its orders. */
describeOnEachDatabase('HTTP channel callbacks into the app', (kind) => {
  let context: TestContext;
  let manifest: DemoManifest;
  let orderId: number;
  let order: ReturnType<typeof orderRow>;

  beforeAll(async () => {
    context = await createTestContext(kind);
    manifest = await context.services.demoWorld.ensure();
    const applicationId = manifest.superapp.applicationId;
    // The superapp's channel is the HTTP protocol; its key is sealed as the console would seal it.
    await context.database.db
      .updateTable('superapp_payment_configs')
      .set({
        channel_kind: 'http',
        channel_settings_json: JSON.stringify({ baseUrl: 'https://channel.example/' }),
        channel_key_sealed: context.services.paymentConfig.sealChannelSecret(applicationId, channelKey),
      })
      .where('superapp_id', '=', applicationId)
      .execute();
    order = {
      ...orderRow(
        {
          mnpId: manifest.miniPrograms.ready.mnpId,
          applicationId,
          miniProgramTeamId: manifest.miniProgramTeam.teamId,
          superappTeamId: manifest.superapp.teamId,
        },
        { createdAt: context.clock.nowMs(), tradeState: 'WAIT_PAY', amount: 1234, mchid: manifest.miniPrograms.ready.mchid },
      ),
      channel_kind: 'http',
      sandbox: 0,
      time_expire: context.clock.nowMs() + 60 * 60 * 1000,
    };
    const inserted = await context.database.db.insertInto('orders').values(order).returning('id').executeTakeFirstOrThrow();
    orderId = Number(inserted.id);
  });
  afterAll(() => context?.close());

  const paidEvent = (total = 1234) => ({
    event_id: `evt-${Math.random().toString(36).slice(2)}`,
    event_type: 'payment.succeeded',
    occurred_time: new Date(context.clock.nowMs()).toISOString(),
    order: {
      channel_order_id: 'chan-1',
      merchant_id: order.mchid,
      appid: order.mnp_id,
      out_trade_no: order.out_trade_no,
      prepay_id: order.prepay_id,
      state: 'SUCCESS',
      amount: { total, currency: 'CNY' },
      description: order.description,
      expire_time: new Date(order.time_expire).toISOString(),
      channel_transaction_id: 'chan-txn-1',
      payer_openid: 'openid-http',
      paid_time: new Date(context.clock.nowMs()).toISOString(),
      closed_time: null,
      failure_reason: null,
      cashier_token: 'cashier-http-1',
      cashier_url: null,
    },
  });

  const post = (body: string, headers: object, applicationId = manifest.superapp.applicationId) =>
    context.app.inject({
      method: 'POST',
      url: channelCallbackPath(applicationId),
      headers: { 'content-type': 'application/json', ...headers },
      payload: body,
    });

  it('refuses unsigned, wrongly signed and replayed callbacks, and superapps without an HTTP channel; nothing changes', async () => {
    const body = JSON.stringify(paidEvent());
    expect((await post(body, {})).statusCode).toBe(401);
    expect((await post(body, signChannelMessage('x'.repeat(40), body, { nowMs: context.clock.nowMs() }))).statusCode).toBe(401);
    expect((await post(body, signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() }), 'app_unknown')).statusCode).toBe(404);
    const state = await context.database.db.selectFrom('orders').select('trade_state').where('id', '=', orderId).executeTakeFirstOrThrow();
    expect(state.trade_state).toBe('WAIT_PAY');
  });

  it('applies a correctly signed payment event to the order, once', async () => {
    const body = JSON.stringify(paidEvent());
    const headers = signChannelMessage(channelKey, body, { nowMs: context.clock.nowMs() });
    expect((await post(body, headers)).statusCode).toBe(204);
    const paid = await context.database.db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
    expect(paid.trade_state).toBe('SUCCESS');
    expect(paid.transaction_id).toMatch(/^\d{28,32}$/);
    expect(paid.channel_transaction_id).toBe('chan-txn-1');
    // The same signed request again is a replay.
    expect((await post(body, headers)).statusCode).toBe(401);
    const again = JSON.stringify(paidEvent());
    expect((await post(again, signChannelMessage(channelKey, again, { nowMs: context.clock.nowMs() }))).statusCode).toBe(204);
    const after = await context.database.db
      .selectFrom('orders')
      .select(['transaction_id', 'anomaly_flags'])
      .where('id', '=', orderId)
      .executeTakeFirstOrThrow();
    expect(after).toEqual({ transaction_id: paid.transaction_id, anomaly_flags: 0 });
  });
});
