import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCalendarDays, businessDateOf } from '../../src/domain/business-time.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('demo world', (kind) => {
  let context: TestContext;
  beforeAll(async () => {
    context = await createTestContext(kind);
  });
  afterAll(() => context?.close());

  it('is built once and its manifest is printed again unchanged', async () => {
    const first = await context.services.demoWorld.ensure();
    const second = await context.services.demoWorld.ensure();
    expect(second).toEqual(first);
    expect(first.miniPrograms.ready.mnpId).toMatch(/^mnp_/);
    expect(first.superapp.users.reviewer.secretId).toMatch(/^AKID/);
  });

  it('has a virtual-payment-enabled mini game with two APPROVED items, its delivery URL the demo receiver (SPEC §8.9)', async () => {
    const { miniGames } = await context.services.demoWorld.ensure();
    const game = miniGames!.ready;
    expect(game.appKey).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(game.deliveryUrl).toMatch(/\/demo\/game\/delivery$/);
    expect(game.items.map((item) => item.productId)).toEqual(['gem_pack_60', 'skin_knight']);
    const db = context.database.db;
    const account = await context.services.virtualPaymentDirectory.accountOf(db, game.mnpId);
    expect(account).toMatchObject({
      kind: 'minigame',
      offerId: game.offerId,
      mchid: game.mchid,
      appKey: game.appKey,
      deliveryUrl: game.deliveryUrl,
      virtualPaymentEnabled: true,
    });
    for (const item of game.items)
      expect(await context.services.virtualPaymentDirectory.sellableItemOf(db, game.mnpId, item.productId)).toEqual(item);
  });

  it('signs its users in to the console with the printed passwords', async () => {
    const manifest = await context.services.demoWorld.ensure();
    const client = await ConsoleClient.signIn(
      context.app,
      manifest.miniProgramTeam.users.operator.account,
      manifest.miniProgramTeam.users.operator.password,
    );
    const session = await client.get('/session');
    expect(session.statusCode).toBe(200);
    expect(session.body.teams.map((t: { id: string }) => t.id)).toEqual([manifest.miniProgramTeam.teamId]);
  });

  describe("the demo superapp's yesterday (SPEC §9.5)", () => {
    const yesterday = () => addCalendarDays(businessDateOf(context.clock.nowMs(), context.config.timezone), -1);
    const runsOfYesterday = async () => {
      const manifest = await context.services.demoWorld.ensure();
      return context.database.db
        .selectFrom('reconciliation_runs')
        .selectAll()
        .where('application_id', '=', manifest.superapp.applicationId)
        .where('bill_date', '=', yesterday())
        .execute();
    };
    const exceptionsOfYesterday = () =>
      context.database.db
        .selectFrom('reconciliation_exceptions')
        .select(['id', 'kind', 'status', 'out_trade_no', 'out_refund_no', 'our_amount', 'channel_amount', 'our_state', 'channel_state'])
        .where('bill_date', '=', yesterday())
        .orderBy('kind')
        .execute();
    const countOf = async (
      table: 'orders' | 'refunds' | 'sandbox_statement_faults' | 'reconciliation_runs' | 'reconciliation_exceptions',
    ) =>
      Number(
        (
          await context.database.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('is reconciled while the world is built: the run is DONE with three OPEN exceptions, one of each common kind', async () => {
      const manifest = await context.services.demoWorld.ensure();
      const day = yesterday().replaceAll('-', '');
      const runs = await runsOfYesterday();
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'DONE', fetched: 1, last_error: null });
      expect(await exceptionsOfYesterday()).toEqual([
        expect.objectContaining({
          kind: 'AMOUNT_MISMATCH',
          status: 'OPEN',
          out_trade_no: `DEMO${day}Y2`,
          our_amount: 12900,
          channel_amount: 12901,
        }),
        expect.objectContaining({ kind: 'MISSING_AT_CHANNEL', status: 'OPEN', out_trade_no: `DEMO${day}Y1`, out_refund_no: null }),
        expect.objectContaining({
          kind: 'STATE_MISMATCH',
          status: 'OPEN',
          out_trade_no: `DEMO${day}Y3`,
          out_refund_no: `RDEMO${day}Y3`,
          our_state: 'SUCCESS',
          channel_state: 'CLOSED',
        }),
      ]);
      // Five payments (one refunded) on our side; the statement lacks the first, shows the second a cent more, the refund CLOSED.
      const report = JSON.parse(runs[0]!.report_json!);
      expect(report.ours).toEqual([{ currency: 'CNY', payment_count: 5, payment_amount: '47300', refund_count: 1, refund_amount: '3500' }]);
      expect(report.channel).toEqual([{ currency: 'CNY', payment_count: 4, payment_amount: '33701', refund_count: 0, refund_amount: '0' }]);
      // The orders are the demo shop's mini program's, paid yesterday at the channel's times.
      const orders = await context.database.db
        .selectFrom('orders')
        .select(['mnp_id', 'trade_state', 'success_time'])
        .where('application_id', '=', manifest.superapp.applicationId)
        .execute();
      expect(orders).toHaveLength(5);
      for (const order of orders) {
        expect(order).toMatchObject({ mnp_id: manifest.miniPrograms.ready.mnpId });
        expect(businessDateOf(order.success_time!, context.config.timezone)).toBe(yesterday());
      }
    });

    it('is built once: printing the manifest again adds no orders, faults, runs or exceptions', async () => {
      const tables = ['orders', 'refunds', 'sandbox_statement_faults', 'reconciliation_runs', 'reconciliation_exceptions'] as const;
      const before = await Promise.all(tables.map(countOf));
      await context.services.demoWorld.ensure();
      expect(await Promise.all(tables.map(countOf))).toEqual(before);
      expect(before).toEqual([5, 1, 3, 1, 3]);
    });

    it('the daily job finds the day DONE, and a re-run of it finds the same three exceptions', async () => {
      const before = await exceptionsOfYesterday();
      expect(await context.services.statementReconciliation.scheduleDue()).toBe(0);
      expect(await context.services.statementReconciliation.runDue()).toBe(0);
      const manifest = await context.services.demoWorld.ensure();
      const [run] = await context.services.statementReconciliation.reconcileDay(yesterday(), manifest.superapp.applicationId);
      expect(run).toMatchObject({ status: 'DONE' });
      expect(await exceptionsOfYesterday()).toEqual(before);
      expect(JSON.parse(run!.report_json!)).toEqual(JSON.parse((await runsOfYesterday())[0]!.report_json!));
    });
  });
});
