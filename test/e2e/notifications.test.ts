import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import type { NotificationEventType } from '../../src/services/payments/notification.service.ts';
import {
  chooseOption,
  columnTexts,
  describeWithBrowser,
  newConsolePage,
  openConsolePage,
  screenshotPath,
  settled,
  startDemoConsole,
  submitSignIn,
  tableRows,
  type ConsoleServer,
} from '../helpers/browser.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { insertNotification, insertOrder, insertRefund, type OrderOwner } from '../helpers/record-factory.ts';
import { dayMs as day } from '../../src/domain/clock.ts';

const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const hour = 60 * 60 * 1000;
const longFlow = 180_000;

// SPEC §5's notification delivery log in Chromium: an MP operator filters the log, opens a notification's
// attempts and resends it (a new round, audited); another team's developer sees nothing of it.
describeWithBrowser('notification delivery log in the console (Chromium)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  let otherDeveloper: TestUser;
  let failedId: number;
  const scriptErrors: string[] = [];
  const now = Date.now();
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    // No job loops: the notifications stay as written until the test resends one.
    ({ server, browser, demo, close: stop } = await startDemoConsole({ now, backgroundJobs: false, demoBuiltAt: now - 60 * day }));
    const { context } = server;
    const db = context.database.db;
    const owner: OrderOwner = {
      mnpId: demo.miniPrograms.ready.mnpId,
      applicationId: demo.superapp.applicationId,
      miniProgramTeamId: demo.miniProgramTeam.teamId,
      superappTeamId: demo.superapp.teamId,
    };
    // Written as the app writes them: the notification service, inside a transaction.
    const enqueue = async (
      order: Awaited<ReturnType<typeof insertOrder>>,
      eventType: NotificationEventType,
      subject: { type: 'order' | 'refund'; id: number },
      at: number,
    ) => {
      context.clock.set(at);
      await db.transaction().execute((trx) =>
        context.services.notifications.enqueue(trx, {
          eventType,
          appId: order.mnp_id,
          mchid: order.mchid,
          notifyUrl: 'https://shop.example/pay/notify',
          resource: { out_trade_no: order.out_trade_no },
          sandbox: true,
          subject,
          owners: owner,
        }),
      );
      context.clock.set(now);
    };
    for (let index = 0; index < 3; index++) {
      const order = await insertOrder(db, owner, { createdAt: now - (index + 1) * hour, outTradeNo: `NT-${index}` });
      await enqueue(order, 'TRANSACTION.SUCCESS', { type: 'order', id: order.id }, order.created_at + 60_000);
    }
    const failedOrder = await insertOrder(db, owner, { createdAt: now - 5 * hour, outTradeNo: 'NT-FAILED' });
    failedId = (
      await insertNotification(db, { type: 'order', id: failedOrder.id }, owner, now - 5 * hour, {
        targetUrl: 'https://broken.example/notify',
      })
    ).id;
    const refunded = await insertOrder(db, owner, { createdAt: now - 2 * day, outTradeNo: 'NT-REFUNDED', tradeState: 'REFUND' });
    const refund = await insertRefund(db, refunded, { createdAt: now - day, amount: 100, outRefundNo: 'NT-RF-1' });
    await enqueue(refunded, 'REFUND.SUCCESS', { type: 'refund', id: refund.id }, refund.created_at + 60_000);
    otherDeveloper = await createUser(context, { account: 'e2e-notifications-other' });
    await context.services.teams.addMember(systemActor(), demo.unboundTeam.teamId, { account: otherDeveloper.account, role: 'developer' });
  }, 240_000);

  afterAll(async () => {
    await stop?.();
    expect(scriptErrors).toEqual([]);
  });

  async function signIn(user: { account: string; password: string }): Promise<Page> {
    const page = await newConsolePage(browser, server.baseUrl, { timezoneId: 'Asia/Shanghai', scriptErrors });
    await page.goto('/console/sign-in');
    await submitSignIn(page, user);
    return page;
  }

  it(
    'lets an MP operator filter the log, open a notification’s attempts and resend it',
    async () => {
      const page = await signIn(demo.miniProgramTeam.users.operator);
      await openConsolePage(page, 'Notifications');
      const table = page.getByTestId('notifications-table');
      await eventually(() => columnTexts(table, 1)).toEqual([
        'Order NT-0',
        'Order NT-1',
        'Order NT-2',
        'Order NT-FAILED',
        'Refund NT-RF-1',
      ]);
      expect(await columnTexts(table, 3)).toEqual([
        'TRANSACTION.SUCCESS',
        'TRANSACTION.SUCCESS',
        'TRANSACTION.SUCCESS',
        'TRANSACTION.SUCCESS',
        'REFUND.SUCCESS',
      ]);
      expect(await columnTexts(table, 8)).toEqual(['shop.example', 'shop.example', 'shop.example', 'broken.example', 'shop.example']);
      await page.screenshot({ path: screenshotPath('notifications-log'), fullPage: true });
      // Oldest first from the Created column, and back.
      await table.locator('th', { hasText: 'Created' }).click();
      // The header's sort tooltip would cover the search form above it: the pointer leaves the table.
      await page.mouse.move(0, 0);
      await eventually(() => columnTexts(table, 1)).toEqual([
        'Refund NT-RF-1',
        'Order NT-FAILED',
        'Order NT-2',
        'Order NT-1',
        'Order NT-0',
      ]);
      await table.locator('th', { hasText: 'Created' }).click();
      // The header's sort tooltip would cover the search form above it: the pointer leaves the table.
      await page.mouse.move(0, 0);
      await eventually(() => columnTexts(table, 1)).toEqual([
        'Order NT-0',
        'Order NT-1',
        'Order NT-2',
        'Order NT-FAILED',
        'Refund NT-RF-1',
      ]);

      await chooseOption(page, page.getByRole('combobox', { name: 'Delivery status' }), 'failed');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => columnTexts(table, 1)).toEqual(['Order NT-FAILED']);
      expect(await columnTexts(table, 4)).toEqual(['failed']);
      expect((await columnTexts(table, 6))[0]).toContain('HTTP 500');

      await page.getByRole('button', { name: 'Reset' }).click();
      await page.getByLabel('Merchant refund no. (out_refund_no)').fill('NT-RF-1');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => columnTexts(table, 1)).toEqual(['Refund NT-RF-1']);
      await page.getByLabel('Merchant refund no. (out_refund_no)').fill('');
      await page.getByLabel('Merchant order no. (out_trade_no)').fill('NT-FAILED');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => columnTexts(table, 1)).toEqual(['Order NT-FAILED']);

      await tableRows(table).first().getByRole('button', { name: 'Details' }).click();
      const drawer = await settled(page.getByRole('dialog', { name: /^Notification / }));
      await eventually(() => drawer.getByTestId('notification-fields').innerText()).toContain('https://broken.example/notify');
      const attempts = drawer.getByTestId('notification-attempts');
      expect(await tableRows(attempts).count()).toBe(1);
      expect(await tableRows(attempts).first().innerText()).toContain('500');
      expect(await drawer.getByTestId('attempts-purged').count(), 'every attempt is listed: no retention note').toBe(0);
      await page.screenshot({ path: screenshotPath('notifications-detail'), fullPage: true });

      await drawer.getByTestId('notification-resend').click();
      await page.getByText('Resend queued').first().waitFor();
      // The drawer and the list show the new round: pending, due now, marked as a resend.
      await eventually(() => drawer.getByTestId('notification-fields').innerText()).toContain('pending');
      const row = await server.context.database.db.selectFrom('outbox').selectAll().where('id', '=', failedId).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'pending', manual: 1, round_attempts: 0, next_attempt_at: now });
      const audit = await server.context.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'order.notification.resend')
        .where('target_id', '=', String(failedId))
        .execute();
      expect(audit).toHaveLength(1);
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });
      await eventually(() => columnTexts(table, 4)).toEqual(['pending']);
      await page.context().close();
    },
    longFlow,
  );

  it(
    'shows an MP developer of another team nothing of this team’s',
    async () => {
      const page = await signIn(otherDeveloper);
      await openConsolePage(page, 'Notifications');
      await page.getByTestId('notifications-range').waitFor();
      await eventually(() => page.getByTestId('notifications-table').getByText('Nothing matches these filters.').count()).toBe(1);
      await page.getByLabel('Merchant order no. (out_trade_no)').fill('NT-FAILED');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => page.getByTestId('notifications-range').innerText()).toContain('Showing');
      expect(await tableRows(page.getByTestId('notifications-table')).count()).toBe(0);
      await page.context().close();
    },
    longFlow,
  );
  it(
    'says when older delivery attempts were deleted by the retention purge (the count is larger than the rows)',
    async () => {
      const { context } = server;
      const db = context.database.db;
      const owner: OrderOwner = {
        mnpId: demo.miniPrograms.ready.mnpId,
        applicationId: demo.superapp.applicationId,
        miniProgramTeamId: demo.miniProgramTeam.teamId,
        superappTeamId: demo.superapp.teamId,
      };
      const order = await insertOrder(db, owner, { createdAt: now - 6 * hour, outTradeNo: 'NT-PURGED' });
      const notification = await insertNotification(db, { type: 'order', id: order.id }, owner, now - 6 * hour);
      // Three attempts were made; the purge left the last one's row.
      await db.updateTable('outbox').set({ attempts: 3 }).where('id', '=', notification.id).execute();
      const page = await signIn(demo.miniProgramTeam.users.operator);
      await openConsolePage(page, 'Notifications');
      const table = page.getByTestId('notifications-table');
      await page.getByLabel('Merchant order no. (out_trade_no)').fill('NT-PURGED');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => columnTexts(table, 1)).toEqual(['Order NT-PURGED']);
      await tableRows(table).first().getByRole('button', { name: 'Details' }).click();
      const drawer = await settled(page.getByRole('dialog', { name: /^Notification / }));
      await eventually(() => drawer.getByTestId('attempts-purged').innerText()).toBe(
        '2 older attempts were deleted after the retention period; the attempt count still includes them.',
      );
      expect(await tableRows(drawer.getByTestId('notification-attempts')).count()).toBe(1);
      await page.context().close();
    },
    longFlow,
  );
});
