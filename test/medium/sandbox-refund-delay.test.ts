import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payInSandbox, readyMerchant, V3InjectClient, orderOfMerchant } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

let sequence = 0;
const number = (prefix: string) => `${prefix}${Date.now().toString(36)}${(sequence += 1)}`.slice(0, 32);

/**
 * The embedded sandbox settles a refund by itself PAYTHROUGH_SANDBOX_REFUND_DELAY_MS after it was created (SPEC §4.3, §6.1):
 * the setting reaches the in-process channel through the composition root, and 0 settles at once.
 */
describeOnEachDatabase('sandbox refund delay (PAYTHROUGH_SANDBOX_REFUND_DELAY_MS)', (kind) => {
  async function refundThroughTheGateway(context: TestContext, answered: 'PROCESSING' | 'SUCCESS') {
    const client = new V3InjectClient(context.app, readyMerchant(await context.services.demoWorld.ensure()), context.clock);
    const outTradeNo = number('DELAY');
    const { body } = await client.prepay({ outTradeNo, total: 800 });
    expect((await payInSandbox(context.app, body.prepay_id)).statusCode).toBe(200);
    const order = (await orderOfMerchant(context.database.db, client.merchant, outTradeNo))!;
    const outRefundNo = `${outTradeNo}-R`;
    const refund = await client.refund({ transactionId: order.transaction_id!, outRefundNo, refund: 800, total: 800 });
    expect([refund.statusCode, refund.body.status]).toEqual([200, answered]);
    /** The refund's status once the sandbox's clock-driven work has run. */
    return async () => {
      await context.services.sandbox!.tick();
      return (await client.queryRefund(outRefundNo)).body.status as string;
    };
  }

  describe('a configured delay of 90 s', () => {
    let context: TestContext;
    beforeAll(async () => {
      context = await createTestContext(kind, { config: { sandboxRefundDelayMs: 90_000 } });
    });
    afterAll(() => context?.close());

    it('keeps the refund PROCESSING until 90 s have passed, then settles it as SUCCESS', async () => {
      const statusAfterTick = await refundThroughTheGateway(context, 'PROCESSING');
      context.clock.advance(89_999);
      expect(await statusAfterTick()).toBe('PROCESSING');
      context.clock.advance(1);
      expect(await statusAfterTick()).toBe('SUCCESS');
    });
  });

  describe('a delay of 0', () => {
    let context: TestContext;
    beforeAll(async () => {
      context = await createTestContext(kind, { config: { sandboxRefundDelayMs: 0 } });
    });
    afterAll(() => context?.close());

    it('settles the refund at once: the refund is answered SUCCESS, without the clock moving', async () => {
      const statusAfterTick = await refundThroughTheGateway(context, 'SUCCESS');
      expect(await statusAfterTick()).toBe('SUCCESS');
    });
  });
});
