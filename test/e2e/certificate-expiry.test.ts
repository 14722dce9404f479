import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dayMs } from '../../src/domain/clock.ts';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import {
  describeWithBrowser,
  newConsolePage,
  screenshotPath,
  startDemoConsole,
  submitSignIn,
  type ConsoleServer,
} from '../helpers/browser.ts';

const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const longFlow = 180_000;

// SPEC §7: "A merchant certificate past its not_after is refused like a revoked one; the console warns 30 days before."
// The server's clock is moved towards the demo certificate's not_after (sessions are signed in at each moment).
describeWithBrowser('merchant certificate expiry warnings in the console (Chromium)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  let notAfter: number;
  const scriptErrors: string[] = [];
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ server, browser, demo, close: stop } = await startDemoConsole({ backgroundJobs: false }));
    const key = await server.context.database.db
      .selectFrom('merchant_api_keys')
      .select('not_after')
      .where('serial_no', '=', demo.miniPrograms.ready.serialNo)
      .executeTakeFirstOrThrow();
    notAfter = key.not_after;
  }, 240_000);

  afterAll(async () => {
    await stop?.();
  });

  async function standardPaymentAs(user: { account: string; password: string }): Promise<Page> {
    const page = await newConsolePage(browser, server.baseUrl, { scriptErrors });
    await page.goto('/console/sign-in');
    await submitSignIn(page, user);
    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Standard payment' }).click();
    await page.getByRole('heading', { level: 3, name: /^Standard payment/ }).waitFor();
    await page.getByRole('row').filter({ hasText: 'Demo Shop' }).waitFor();
    return page;
  }

  it(
    'shows no warning while the certificate has more than 30 days left',
    async () => {
      server.context.clock.set(notAfter - 31 * dayMs);
      const admin = await standardPaymentAs(demo.miniProgramTeam.users.admin);
      const account = admin.getByTestId('payment-account');
      await eventually(() => account.innerText()).toContain(demo.miniPrograms.ready.serialNo);
      expect(await admin.getByTestId('certificate-expiry').count()).toBe(0);
      expect(await admin.getByTestId('certificate-expiry-alert').count()).toBe(0);
      expect(await admin.getByTestId('certificate-expiry-page-alert').count()).toBe(0);
      await admin.context().close();
    },
    longFlow,
  );

  it(
    'warns within 30 days: "expires in N days" on the certificate and an alert on the page',
    async () => {
      server.context.clock.set(notAfter - 20 * dayMs + 60_000);
      const admin = await standardPaymentAs(demo.miniProgramTeam.users.admin);
      const pageAlert = admin.getByTestId('certificate-expiry-page-alert');
      await eventually(() => pageAlert.innerText()).toContain('Demo Shop: Expires in 20 days');
      expect(await pageAlert.getAttribute('class')).toContain('ant-alert-warning');
      const account = admin.getByTestId('payment-account');
      await eventually(() => account.getByTestId('certificate-expiry').innerText()).toBe('Expires in 20 days');
      const cardAlert = admin.getByTestId('certificate-expiry-alert');
      expect(await cardAlert.innerText()).toContain(`The certificate ${demo.miniPrograms.ready.serialNo} is valid until`);
      await admin.screenshot({ path: screenshotPath('payment-certificate-expiring'), fullPage: true });
      await admin.context().close();

      // A developer sees the payment status, not the credentials, so no certificate warning either (SPEC §1.1).
      const developer = await standardPaymentAs(demo.miniProgramTeam.users.developer);
      await developer.getByTestId('standard-payment-read-only').waitFor();
      expect(await developer.getByTestId('certificate-expiry-page-alert').count()).toBe(0);
      await developer.context().close();
    },
    longFlow,
  );

  it(
    'shows the certificate as expired from its not_after on',
    async () => {
      server.context.clock.set(notAfter + dayMs);
      const senior = await standardPaymentAs(demo.miniProgramTeam.users.seniorDeveloper);
      const pageAlert = senior.getByTestId('certificate-expiry-page-alert');
      await eventually(() => pageAlert.innerText()).toContain('Demo Shop: Expired');
      expect(await pageAlert.getAttribute('class')).toContain('ant-alert-error');
      await eventually(() => senior.getByTestId('payment-account').getByTestId('certificate-expiry').innerText()).toBe('Expired');
      expect(await senior.getByTestId('certificate-expiry-alert').innerText()).toContain(
        `The certificate ${demo.miniPrograms.ready.serialNo} expired`,
      );
      await senior.screenshot({ path: screenshotPath('payment-certificate-expired'), fullPage: true });
      await senior.context().close();
    },
    longFlow,
  );

  it('loaded without script errors', () => {
    expect(scriptErrors).toEqual([]);
  });
});
