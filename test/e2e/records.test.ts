import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
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
import { insertNotification, insertOrder, insertOrders, insertRefund, orderRow, type OrderOwner } from '../helpers/record-factory.ts';
import { dayMs as day } from '../../src/domain/clock.ts';
import { addCalendarDays, businessDateOf } from '../../src/domain/business-time.ts';
import { demoYesterdayOutTradeNo } from '../../src/services/demo/demo-yesterday.ts';

const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const hour = 60 * 60 * 1000;
const longFlow = 180_000;

/** A small CSV reader (quoted fields with commas, quotes and newlines), for checking the downloaded file. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\r' && text[index + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      index += 1;
    } else field += char;
  }
  return rows;
}

// Issue 5's Done-when in Chromium: the Order record filtered, a detail, an export whose rows match the
// filter; the After-sales record's 7-day default, searches by refund and order number, the 12-month limit;
// another team's developer sees nothing of this team's.
describeWithBrowser('order and after-sales records in the console (Chromium)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  let otherDeveloper: TestUser;
  const scriptErrors: string[] = [];
  const now = Date.now();
  let demoPaidOrders: string[];

  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    // No job loops: the background export below waits queued until the test runs the worker itself.
    ({ server, browser, demo, close: stop } = await startDemoConsole({ now, backgroundJobs: false, demoBuiltAt: now - 60 * day }));
    const demoDay = addCalendarDays(businessDateOf(now - 60 * day, server.context.config.timezone), -1);
    // The demo world's yesterday, two months back: its paid orders of the ready mini program, newest first.
    demoPaidOrders = [4, 3, 1, 0].map((index) => demoYesterdayOutTradeNo(demoDay, index));
    const db = server.context.database.db;
    const owner = (mnpId: string): OrderOwner => ({
      mnpId,
      applicationId: demo.superapp.applicationId,
      miniProgramTeamId: demo.miniProgramTeam.teamId,
      superappTeamId: demo.superapp.teamId,
    });
    const ready = owner(demo.miniPrograms.ready.mnpId);
    const fresh = owner(demo.miniPrograms.fresh.mnpId);
    for (let index = 0; index < 12; index++) {
      await insertOrder(db, index % 3 === 0 ? fresh : ready, {
        createdAt: now - (index + 1) * hour,
        outTradeNo: `E2E-${String(index).padStart(2, '0')}`,
        tradeState: index % 2 ? 'SUCCESS' : 'WAIT_PAY',
        amount: 1000 + index * 111,
        description: index === 1 ? 'Tea, "large", =1+1' : `Order ${index}`,
      });
    }
    const refunded = await insertOrder(db, ready, {
      createdAt: now - 60 * day,
      outTradeNo: 'E2E-REFUNDED',
      tradeState: 'REFUND',
      amount: 8800,
      refundSucceeded: 800,
    });
    await insertRefund(db, refunded, { createdAt: now - 3 * day, amount: 500, outRefundNo: 'E2E-RF-RECENT', status: 'PROCESSING' });
    await insertRefund(db, refunded, { createdAt: now - 40 * day, amount: 800, outRefundNo: 'E2E-RF-OLD' });
    otherDeveloper = await createUser(server.context, { account: 'e2e-other-developer' });
    await server.context.services.teams.addMember(systemActor(), demo.unboundTeam.teamId, {
      account: otherDeveloper.account,
      role: 'developer',
    });
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
    'lets an MP operator filter the Order record, open a detail, and export exactly the filtered rows',
    async () => {
      const page = await signIn(demo.miniProgramTeam.users.operator);
      await openConsolePage(page, 'Order record');
      const table = page.getByTestId('orders-table');
      // This suite's 13 orders and the demo world's yesterday's five.
      await eventually(() => tableRows(table).count()).toBe(18);
      await eventually(() => page.getByTestId('records-total').innerText()).toBe('18 matching');

      await chooseOption(page, page.getByRole('combobox', { name: 'Trade state' }), 'SUCCESS');
      const miniPrograms = page.getByRole('combobox', { name: 'Mini programs' });
      await miniPrograms.fill(demo.miniPrograms.ready.mnpId);
      await page.keyboard.press('Enter');
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Search' }).click();
      // SUCCESS orders of the ready mini program: odd indexes not divisible by 3 → 1, 5, 7, 11; then the demo's.
      await eventually(() => columnTexts(table, 2)).toEqual(['E2E-01', 'E2E-05', 'E2E-07', 'E2E-11', ...demoPaidOrders]);
      expect(new Set(await columnTexts(table, 4))).toEqual(new Set(['SUCCESS']));
      await eventually(() => page.getByTestId('records-total').innerText()).toBe('8 matching');

      await tableRows(table).first().getByRole('button', { name: 'Details' }).click();
      const drawer = await settled(page.getByRole('dialog', { name: 'Order E2E-01' }));
      const fields = drawer.getByTestId('order-fields');
      await eventually(() => fields.innerText()).toContain('Tea, "large", =1+1');
      expect(await fields.innerText()).toContain(demo.miniPrograms.ready.mnpId);
      expect(await fields.innerText()).toContain('11.11 CNY');
      await drawer.getByText('No notifications').waitFor();
      await page.screenshot({ path: screenshotPath('order-record-detail'), fullPage: true });
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });

      // Oldest first from the Created column's sorter: the list turns round, and the export follows it.
      await table.locator('th', { hasText: 'Created' }).click();
      // The header's sort tooltip would cover the search form above it: the pointer leaves the table.
      await page.mouse.move(0, 0);
      await eventually(() => columnTexts(table, 2)).toEqual([...demoPaidOrders].reverse().concat(['E2E-11', 'E2E-07', 'E2E-05', 'E2E-01']));
      expect(await table.locator('th[aria-sort]').getAttribute('aria-sort')).toBe('ascending');

      await page.getByRole('button', { name: 'Export CSV' }).click();
      const panel = page.getByTestId('exports-panel');
      const link = panel.getByTestId('export-download').first();
      await link.waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      expect(download.suggestedFilename()).toMatch(/^orders-\d{8}-\d{6}\.csv$/);
      const text = await readFile(await download.path(), 'utf8');
      expect(text.startsWith('\uFEFF')).toBe(true);
      const [header, ...records] = parseCsv(text.slice(1));
      expect(header![2]).toBe('Merchant order no.');
      expect(records.map((record) => record[2])).toEqual([...demoPaidOrders].reverse().concat(['E2E-11', 'E2E-07', 'E2E-05', 'E2E-01']));
      expect(new Set(records.map((record) => record[0]))).toEqual(new Set([demo.miniPrograms.ready.mnpId]));
      expect(new Set(records.map((record) => record[4]))).toEqual(new Set(['SUCCESS']));
      expect(records[7]![5]).toBe('Tea, "large", =1+1');
      expect(records[7]![6]).toBe('11.11');

      // The dashboard counts the same orders (the last 30 days: all but the 60-day-old one).
      await openConsolePage(page, 'Payment data');
      await eventually(() => page.getByTestId('payment-overview').innerText()).toMatch(/Orders\s*12\b/);
      await page.getByTestId('orders-chart').locator('rect:not([height="0"])').first().waitFor();
      await page.screenshot({ path: screenshotPath('payment-data'), fullPage: true });
      await page.context().close();
    },
    longFlow,
  );

  it(
    'opens the After-sales record on the past 7 days, finds refunds by refund and order number, refuses 13 months',
    async () => {
      const page = await signIn(demo.miniProgramTeam.users.developer);
      await openConsolePage(page, 'After-sales record');
      const table = page.getByTestId('refunds-table');
      const today = new Date(now + 8 * hour).toISOString().slice(0, 10);
      const sixDaysAgo = new Date(now + 8 * hour - 6 * day).toISOString().slice(0, 10);
      expect(await page.getByLabel('Initiated from').inputValue()).toBe(sixDaysAgo);
      expect(await page.getByLabel('Initiated to').inputValue()).toBe(today);
      await eventually(() => columnTexts(table, 2)).toEqual(['E2E-RF-RECENT']);

      await page.getByLabel('Refund number (out_refund_no or refund_id)').fill('E2E-RF-OLD');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => columnTexts(table, 2)).toEqual(['E2E-RF-OLD']);
      await tableRows(table).first().getByRole('button', { name: 'Details' }).click();
      const drawer = await settled(page.getByRole('dialog', { name: 'Refund E2E-RF-OLD' }));
      await eventually(() => drawer.getByTestId('refund-fields').innerText()).toContain('8.00 CNY');
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });

      await page.getByLabel('Refund number (out_refund_no or refund_id)').fill('');
      await page.getByLabel('Order number (out_trade_no or transaction_id)').fill('E2E-REFUNDED');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => columnTexts(table, 2)).toEqual(['E2E-RF-RECENT', 'E2E-RF-OLD']);
      await table.locator('th', { hasText: 'Refund initiated' }).click();
      // The header's sort tooltip would cover the search form above it: the pointer leaves the table.
      await page.mouse.move(0, 0);
      await eventually(() => columnTexts(table, 2)).toEqual(['E2E-RF-OLD', 'E2E-RF-RECENT']);

      const thirteenMonthsAgo = new Date(now + 8 * hour - 395 * day).toISOString().slice(0, 10);
      await page.getByLabel('Order number (out_trade_no or transaction_id)').fill('');
      await page.getByLabel('Initiated from').fill(thirteenMonthsAgo);
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => page.getByTestId('records-error').innerText()).toMatch(/last 12 months only/);
      expect(await tableRows(table).count()).toBe(0);
      await page.screenshot({ path: screenshotPath('after-sales-record-13-months'), fullPage: true });
      await page.context().close();
    },
    longFlow,
  );

  it(
    'runs an export above the inline limit in the background: progress in the panel, then a download of every row',
    async () => {
      // 5,000 more orders of the fresh mini program (above the 5,000-row inline limit with its 4 from the first flow).
      const db = server.context.database.db;
      const fresh: OrderOwner = {
        mnpId: demo.miniPrograms.fresh.mnpId,
        applicationId: demo.superapp.applicationId,
        miniProgramTeamId: demo.miniProgramTeam.teamId,
        superappTeamId: demo.superapp.teamId,
      };
      const bulk = 5_000;
      await insertOrders(
        db,
        Array.from({ length: bulk }, (_, index) =>
          orderRow(fresh, {
            createdAt: now - 2 * day - index * 60_000,
            outTradeNo: `E2E-BULK-${String(index).padStart(4, '0')}`,
            description: index === 7 ? '=HYPERLINK("x")' : `Bulk ${index}`,
          }),
        ),
      );
      const expected = bulk + 4;

      const page = await signIn(demo.miniProgramTeam.users.operator);
      await openConsolePage(page, 'Order record');
      const miniPrograms = page.getByRole('combobox', { name: 'Mini programs' });
      await miniPrograms.fill(demo.miniPrograms.fresh.mnpId);
      await page.keyboard.press('Enter');
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => page.getByTestId('records-total').innerText()).toBe(`${expected.toLocaleString('en')} matching`);

      // The server runs no job loops here: the export waits, queued, until the worker below takes it.
      await page.getByRole('button', { name: 'Export CSV' }).click();
      const panel = page.getByTestId('exports-panel');
      const progress = panel.getByTestId('export-progress');
      await progress.waitFor();
      expect(await progress.innerText()).toContain('0%');
      await page.screenshot({ path: screenshotPath('order-record-export-queued'), fullPage: true });

      expect(await server.context.services.exports.runNext()).toBe(true);
      await progress.waitFor({ state: 'detached', timeout: 15_000 });
      // Both exports were made at the test clock's one instant: the row is found by its count, not its place.
      const finished = panel.locator('tbody tr.ant-table-row', { hasText: `${expected} / ${expected}` });
      await finished.getByTestId('export-download').waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), finished.getByTestId('export-download').click()]);
      const text = await readFile(await download.path(), 'utf8');
      const [, ...records] = parseCsv(text.slice(1));
      expect(records).toHaveLength(expected);
      expect(new Set(records.map((record) => record[0]))).toEqual(new Set([demo.miniPrograms.fresh.mnpId]));
      expect(records.slice(0, 4).map((record) => record[2])).toEqual(['E2E-00', 'E2E-03', 'E2E-06', 'E2E-09']);
      expect(records[4]![2]).toBe('E2E-BULK-0000');
      expect(records.at(-1)![2]).toBe(`E2E-BULK-${bulk - 1}`);
      expect(records.find((record) => record[2] === 'E2E-BULK-0007')![5]).toBe(`'=HYPERLINK("x")`);
      await page.context().close();
    },
    longFlow,
  );

  it(
    'shows an MP developer of another team nothing of this team’s',
    async () => {
      const page = await signIn(otherDeveloper);
      await openConsolePage(page, 'Order record');
      await eventually(() => page.getByTestId('records-total').innerText()).toBe('0 matching');
      expect(await tableRows(page.getByTestId('orders-table')).count()).toBe(0);
      await page.getByLabel('Merchant order no. (out_trade_no)').fill('E2E-01');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => page.getByTestId('records-total').innerText()).toBe('0 matching');

      await openConsolePage(page, 'After-sales record');
      await page.getByLabel('Order number (out_trade_no or transaction_id)').fill('E2E-REFUNDED');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => page.getByTestId('refunds-range').innerText()).toContain('Showing');
      expect(await tableRows(page.getByTestId('refunds-table')).count()).toBe(0);
      await openConsolePage(page, 'Payment data');
      await eventually(() => page.getByTestId('payment-overview').innerText()).toContain('Orders');
      expect(await page.getByTestId('payment-overview').innerText()).toMatch(/Orders\s*0/);
      await page.context().close();
    },
    longFlow,
  );
  it(
    'lets the superapp administrator settle an ABNORMAL refund by hand from its details; a super admin sees the button read-only',
    async () => {
      const db = server.context.database.db;
      const ready: OrderOwner = {
        mnpId: demo.miniPrograms.ready.mnpId,
        applicationId: demo.superapp.applicationId,
        miniProgramTeamId: demo.miniProgramTeam.teamId,
        superappTeamId: demo.superapp.teamId,
      };
      // Older than the lists' default week, so the other tests' counts do not see it.
      const stuck = await insertOrder(db, ready, { createdAt: now - 40 * day, outTradeNo: 'E2E-STUCK', tradeState: 'REFUND', amount: 600 });
      await db.updateTable('orders').set({ refund_reserved: 600, refund_count: 1 }).where('id', '=', stuck.id).execute();
      await insertRefund(db, stuck, { createdAt: now - 30 * day, amount: 600, outRefundNo: 'E2E-RF-ABNORMAL', status: 'ABNORMAL' });
      const openAbnormal = async (page: Page) => {
        await openConsolePage(page, 'After-sales record');
        await page.getByLabel('Refund number (out_refund_no or refund_id)').fill('E2E-RF-ABNORMAL');
        await page.getByRole('button', { name: 'Search' }).click();
        const table = page.getByTestId('refunds-table');
        await eventually(() => columnTexts(table, 2)).toEqual(['E2E-RF-ABNORMAL']);
        await tableRows(table).first().getByRole('button', { name: 'Details' }).click();
        return settled(page.getByRole('dialog', { name: 'Refund E2E-RF-ABNORMAL' }));
      };
      const superAdmin = await signIn(demo.superAdmin);
      const readOnly = await openAbnormal(superAdmin);
      await expect.poll(() => readOnly.getByTestId('settle-refund').isDisabled()).toBe(true);
      await superAdmin.context().close();

      const page = await signIn(demo.superapp.users.admin);
      const drawer = await openAbnormal(page);
      await drawer.getByTestId('settle-refund').click();
      const modal = await settled(page.getByRole('dialog', { name: 'Settle the ABNORMAL refund E2E-RF-ABNORMAL by hand' }));
      await modal.getByRole('button', { name: 'Settle by hand' }).click();
      await eventually(() => modal.innerText()).toContain('Say why the refund is settled by hand');
      await modal.getByTestId('settle-note').fill('The user confirmed the money arrived');
      await modal.getByRole('button', { name: 'Settle by hand' }).click();
      await modal.waitFor({ state: 'hidden' });
      await eventually(() => drawer.getByTestId('refund-fields').innerText()).toContain(demo.superapp.users.admin.account);
      expect(await drawer.getByTestId('refund-fields').innerText()).toContain('SUCCESS');
      await eventually(() => drawer.innerText()).toContain('The user confirmed the money arrived');
      expect(await drawer.getByTestId('settle-refund').count()).toBe(0);
      await page.screenshot({ path: screenshotPath('after-sales-record-settled-by-hand'), fullPage: true });
      await page.context().close();
    },
    longFlow,
  );

  it(
    'says in an order’s details when older delivery attempts of a notification were deleted by the retention purge',
    async () => {
      const db = server.context.database.db;
      const ready: OrderOwner = {
        mnpId: demo.miniPrograms.ready.mnpId,
        applicationId: demo.superapp.applicationId,
        miniProgramTeamId: demo.miniProgramTeam.teamId,
        superappTeamId: demo.superapp.teamId,
      };
      const order = await insertOrder(db, ready, { createdAt: now - 30 * 60_000, outTradeNo: 'E2E-PURGED', tradeState: 'SUCCESS' });
      const notification = await insertNotification(db, { type: 'order', id: order.id }, ready, now - 20 * 60_000);
      // Four attempts were made; the purge left the last one's row.
      await db.updateTable('outbox').set({ attempts: 4 }).where('id', '=', notification.id).execute();
      const page = await signIn(demo.miniProgramTeam.users.operator);
      await openConsolePage(page, 'Order record');
      const table = page.getByTestId('orders-table');
      await page.getByLabel('Merchant order no. (out_trade_no)').fill('E2E-PURGED');
      await page.getByRole('button', { name: 'Search' }).click();
      await eventually(() => columnTexts(table, 2)).toEqual(['E2E-PURGED']);
      await tableRows(table).first().getByRole('button', { name: 'Details' }).click();
      const drawer = await settled(page.getByRole('dialog', { name: 'Order E2E-PURGED' }));
      await drawer.locator('.ant-table-row-expand-icon').first().click();
      await eventually(() => drawer.getByTestId('attempts-purged').innerText()).toBe(
        '3 older attempts were deleted after the retention period; the attempt count still includes them.',
      );
      await page.context().close();
    },
    longFlow,
  );
});
