import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import {
  chooseOption,
  describeWithBrowser,
  launchBrowser,
  newConsolePage,
  openConsolePage,
  screenshotPath,
  settled,
  startConsoleServer,
  submitSignIn,
  tableRows,
  type ConsoleServer,
} from '../helpers/browser.ts';
import { eventually as until, payInSandbox, readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';

const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const longFlow = 180_000;

// SPEC §9.4, §9.5 in Chromium: Records → Reconciliation over a day reconciled for real against the in-process
// sandbox with statement faults (one payment dropped, one amount bent, one extra payment).
describeWithBrowser('Records → Reconciliation in the console (Chromium)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  let day: string;
  const scriptErrors: string[] = [];
  const number = (n: number) => `E2E-RC-${n}`;

  beforeAll(async () => {
    server = await startConsoleServer({ backgroundJobs: false });
    const { context } = server;
    const timezone = context.config.timezone;
    // Two days back: due whatever the time of day (its cut-off passed yesterday); the world exists from before it.
    day = addCalendarDays(businessDateOf(Date.now(), timezone), -2);
    context.clock.set(businessTimeOn(day, '00:30', timezone));
    demo = await context.services.demoWorld.ensure();
    context.clock.set(businessTimeOn(day, '11:00', timezone));
    const client = new V3InjectClient(context.app, readyMerchant(demo), context.clock);
    for (const n of [1, 2, 3]) {
      const prepaid = await client.prepay({ outTradeNo: number(n), total: 1000 * n });
      await payInSandbox(context.app, prepaid.body.prepay_id);
      await until(async () => (await client.queryByOutTradeNo(number(n))).body.trade_state === 'SUCCESS');
    }
    context.clock.set(Date.now());
    for (const fault of [
      { kind: 'drop', out_trade_no: number(1) },
      { kind: 'amount', out_trade_no: number(2) },
      { kind: 'extra', out_trade_no: number(99) },
    ]) {
      const response = await context.app.inject({
        method: 'POST',
        url: '/sandbox/v1/statement-faults',
        payload: { application_id: demo.superapp.applicationId, bill_date: day, ...fault },
      });
      expect(response.statusCode).toBeLessThan(300);
    }
    const runs = await context.services.statementReconciliation.reconcileDay(day, demo.superapp.applicationId);
    expect(runs.map((run) => run.status)).toEqual(['DONE']);
    browser = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    expect(scriptErrors).toEqual([]);
  });

  async function signIn(user: { account: string; password: string }): Promise<Page> {
    const page = await newConsolePage(browser, server.baseUrl, { timezoneId: 'Asia/Shanghai', scriptErrors });
    await page.goto('/console/sign-in');
    await submitSignIn(page, user);
    return page;
  }

  /** Picks the demo superapp when the user sees several. */
  async function chooseDemoSuperapp(page: Page) {
    const select = page.getByRole('combobox', { name: 'Superapp' });
    if (await select.count()) await chooseOption(page, select, demo.superapp.applicationId);
  }

  it(
    'lets the superapp administrator see the day, filter by kind, resolve with a note, re-run the day and download the CSV',
    async () => {
      const page = await signIn(demo.superapp.users.admin);
      // The day's three, and the three of the demo world's own reconciled yesterday (the day before).
      await eventually(() => page.getByTestId('reconciliation-badge').innerText()).toBe('6');
      await openConsolePage(page, 'Reconciliation');
      await chooseDemoSuperapp(page);
      const days = page.getByTestId('reconciliation-days');
      const dayRow = tableRows(days).filter({ hasText: day });
      await eventually(() => dayRow.innerText()).toContain('DONE');
      expect(await dayRow.innerText()).toContain('60.00');
      expect(await dayRow.innerText()).toContain('3 / 3');

      const table = page.getByTestId('reconciliation-exceptions');
      await eventually(() => tableRows(table).count()).toBe(6);
      await chooseOption(page, page.getByRole('combobox', { name: 'Kind' }), 'AMOUNT_MISMATCH');
      await page.getByTestId('reconciliation-filters').getByRole('button', { name: 'Search' }).click();
      await eventually(() => tableRows(table).count()).toBe(2);
      const row = tableRows(table).filter({ hasText: number(2) });
      expect(await row.innerText()).toContain(number(2));
      expect(await row.innerText()).toContain('20.00 CNY');
      expect(await row.innerText()).toContain(demo.miniPrograms.ready.mnpId);

      // A missing note is refused in the form.
      await row.getByTestId('resolve-exception').click();
      const modal = await settled(page.getByRole('dialog', { name: `Resolve the exception of ${number(2)}` }));
      await modal.getByRole('button', { name: 'Resolve' }).click();
      await eventually(() => modal.innerText()).toContain('Say why the exception is resolved');
      await modal.getByTestId('resolve-note').fill('The channel corrected the amount');
      await modal.getByRole('button', { name: 'Resolve' }).click();
      await modal.waitFor({ state: 'hidden' });
      await eventually(() => row.innerText()).toContain('RESOLVED');
      expect(await row.innerText()).toContain('The channel corrected the amount');
      expect(await row.getByTestId('resolve-exception').count()).toBe(0);
      await eventually(() => page.getByTestId('reconciliation-badge').innerText()).toBe('5');

      // The CSV of the current filter (the kind): BOM first, the day's row and the demo's.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('reconciliation-csv').click()]);
      const text = await readFile((await download.path())!, 'utf8');
      expect(text.startsWith('\uFEFF')).toBe(true);
      const lines = text.slice(1).trim().split('\r\n');
      expect(lines).toHaveLength(3);
      const bent = lines.find((line) => line.includes(number(2)));
      expect(bent).toContain('AMOUNT_MISMATCH');
      expect(bent).toContain('The channel corrected the amount');

      // The day's report, and Re-run after the confirmation that says refunds may be settled.
      await dayRow.getByRole('button', { name: 'Report' }).click();
      const drawer = await settled(page.getByRole('dialog', { name: `Reconciliation of ${day}` }));
      await eventually(() => drawer.getByTestId('reconciliation-outcomes').innerText()).toContain('MISSING_AT_CHANNEL');
      expect(await drawer.getByTestId('reconciliation-report-totals').innerText()).toContain('60.00');
      expect(await tableRows(drawer.getByTestId('reconciliation-runs')).count()).toBe(1);
      await page.screenshot({ path: screenshotPath('reconciliation-day-report'), fullPage: true });
      await drawer.getByTestId('reconciliation-rerun').click();
      const confirm = await settled(page.locator('.ant-popover').filter({ hasText: `Re-run the reconciliation of ${day}?` }));
      expect(await confirm.innerText()).toContain('refunds may be settled');
      await confirm.getByRole('button', { name: 'Re-run' }).click();
      await eventually(() => page.locator('.ant-message').innerText()).toContain('Re-run:');
      await page.context().close();
    },
    longFlow,
  );

  it(
    'shows a superapp developer the exceptions without a Resolve button',
    async () => {
      const page = await signIn(demo.superapp.users.developer);
      await openConsolePage(page, 'Reconciliation');
      await chooseDemoSuperapp(page);
      const table = page.getByTestId('reconciliation-exceptions');
      await eventually(() => tableRows(table).count()).toBe(6);
      expect(await table.getByTestId('resolve-exception').count()).toBe(0);
      expect(await page.getByTestId('reconciliation-csv').count()).toBe(1);
      await page.context().close();
    },
    longFlow,
  );

  it(
    "shows a mini program's operator the exceptions of its own mini programs, read only, without the superapp's days",
    async () => {
      const page = await signIn(demo.miniProgramTeam.users.operator);
      await eventually(() => page.getByTestId('reconciliation-badge').innerText()).not.toBe('');
      await openConsolePage(page, 'Reconciliation');
      const table = page.getByTestId('reconciliation-exceptions');
      await eventually(() => tableRows(table).count()).toBeGreaterThan(0);
      for (const text of await tableRows(table).allInnerTexts()) expect(text).toContain(demo.miniPrograms.ready.mnpId);
      expect(await table.getByTestId('resolve-exception').count()).toBe(0);
      expect(await page.getByTestId('reconciliation-days').count()).toBe(0);
      await page.context().close();
    },
    longFlow,
  );
});
