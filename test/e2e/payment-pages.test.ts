import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import {
  describeWithBrowser,
  newConsolePage,
  screenshotPath,
  settled,
  startDemoConsole,
  submitSignIn,
  type ConsoleServer,
} from '../helpers/browser.ts';
import { ConsoleClient } from '../helpers/console-client.ts';
import { readyMerchant, V3InjectClient } from '../helpers/gateway-client.ts';

// Browser steps share two CPUs with the rest of the suite: poll for as long as a locator would wait.
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const longFlow = 180_000;

// SPEC §5: payment configuration, merchant list, merchant binding and the pages' read-only forms (SPEC §1.1).
describeWithBrowser('payment configuration and merchant binding in the console (Chromium)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  const scriptErrors: string[] = [];

  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ server, browser, demo, close: stop } = await startDemoConsole());
    // An unpaid sandbox order (placed before the tests change credentials): it keeps the sandbox connection after the
    // host-reported test switches the superapp (SPEC §7 "Channel change with live money").
    const merchant = new V3InjectClient(server.context.app, readyMerchant(demo), server.context.clock);
    expect((await merchant.prepay({ outTradeNo: `E2ESWITCH${Date.now().toString(36)}`, total: 100 })).statusCode).toBe(200);
  }, 240_000);

  afterAll(async () => {
    await stop?.();
  });

  async function signIn(user: { account: string; password: string }, locale = 'en-US'): Promise<Page> {
    const page = await newConsolePage(browser, server.baseUrl, { locale, scriptErrors });
    await page.goto('/console/sign-in');
    await submitSignIn(page, user, locale);
    return page;
  }

  const nav = (page: Page) => page.getByTestId('console-nav');
  const openPage = async (page: Page, label: string) => {
    await nav(page).getByRole('menuitem', { name: label }).click();
    await page.getByRole('heading', { level: 3, name: new RegExp(`^${label}`) }).waitFor();
  };

  /** Picks an option of an antd Select by its visible label. */
  async function choose(page: Page, combobox: Locator, option: string) {
    await combobox.click();
    const dropdown = await settled(page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)'));
    await dropdown.getByTitle(option, { exact: true }).click();
  }

  it(
    'lets the SA administrator set currencies and manage the merchant list',
    async () => {
      const page = await signIn(demo.superapp.users.admin);
      await openPage(page, 'Payment configuration');
      const settings = page.locator('.ant-card').filter({ hasText: 'Payment settings' });
      await eventually(() => settings.getByRole('switch', { name: 'Payment' }).isChecked()).toBe(true);
      // The demo superapp uses the sandbox; connections the server cannot offer yet are shown as not yet available.
      expect(await settings.getByRole('radio', { name: 'Sandbox' }).isChecked()).toBe(true);
      const { selectableChannelKinds } = await savedConfig();
      for (const [kind, label] of [
        ['http', 'HTTP channel protocol'],
        ['host_reported', 'Host-reported'],
      ] as const) {
        const radio = settings.getByRole('radio', { name: new RegExp(`^${label}`) });
        expect(await radio.isDisabled()).toBe(!selectableChannelKinds.includes(kind));
        if (!selectableChannelKinds.includes(kind)) expect(await settings.getByText(`${label} (not yet available)`).count()).toBe(1);
      }
      if (selectableChannelKinds.includes('http')) {
        // Choosing the HTTP channel asks for its base URL and key; nothing is saved until Save.
        await settings.getByText('HTTP channel protocol', { exact: true }).click();
        await settings.getByLabel('Channel base URL').waitFor();
        await settings.getByLabel('Channel key').waitFor();
        // A newly chosen HTTP channel serves the daily statement unless switched off (SPEC §9.1).
        expect(await settings.getByRole('switch', { name: 'Daily statement' }).isChecked()).toBe(true);
        await settings.getByText('Sandbox', { exact: true }).click();
        await eventually(() => settings.getByLabel('Channel base URL').count()).toBe(0);
      }

      const currencies = settings.getByRole('combobox', { name: 'Allowed currencies' });
      await currencies.click();
      const dropdown = await settled(page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)'));
      // CNY first in the choices.
      await eventually(async () => (await dropdown.locator('.ant-select-item-option').first().innerText()).trim()).toMatch(/^CNY/);
      await currencies.fill('USD');
      await dropdown.getByTitle('USD — US dollar', { exact: true }).click();
      await page.keyboard.press('Escape');
      await settings.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved', { exact: true }).waitFor();
      expect((await savedConfig()).currencies).toEqual(['CNY', 'USD']);

      const merchants = page.locator('.ant-card').filter({ hasText: 'Merchant list' });
      await merchants.getByRole('button', { name: 'Add merchant' }).click();
      const dialog = await settled(page.getByRole('dialog', { name: 'Add merchant' }));
      await dialog.getByLabel('Merchant ID').fill('1900000101');
      await dialog.getByLabel('Merchant name').fill('A duplicate');
      await dialog.getByRole('button', { name: 'Add merchant' }).click();
      await dialog.getByText('The merchant ID 1900000101 is already in the list').waitFor();
      await dialog.getByLabel('Merchant ID').fill('1900000199');
      await dialog.getByLabel('Merchant name').fill('E2E Tea Merchant');
      await dialog.getByRole('button', { name: 'Add merchant' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await merchants.getByRole('row', { name: /1900000199/ }).waitFor();

      await merchants.getByRole('searchbox', { name: 'Search merchants' }).fill('Tea');
      await merchants.getByRole('button', { name: 'Search' }).click();
      await eventually(() => merchants.locator('tbody tr.ant-table-row').count()).toBe(1);
      await merchants.getByRole('button', { name: 'Edit 1900000199' }).click();
      const edit = await settled(page.getByRole('dialog', { name: 'Edit merchant' }));
      await edit.getByLabel('Merchant name').fill('E2E Tea House');
      await edit.getByRole('button', { name: 'Save' }).click();
      await edit.waitFor({ state: 'hidden' });
      await eventually(() => merchants.getByRole('row', { name: /1900000199/ }).innerText()).toContain('E2E Tea House');
      await merchants.getByRole('searchbox', { name: 'Search merchants' }).fill('');
      await merchants.getByRole('button', { name: 'Search' }).click();
      await eventually(() => merchants.locator('tbody tr.ant-table-row').count()).toBe(3);
      await page.screenshot({ path: screenshotPath('payment-configuration-admin'), fullPage: true });
      await page.context().close();
    },
    longFlow,
  );

  it(
    'shows an SA developer the merchant list only, and the super admin everything read-only',
    async () => {
      const developer = await signIn(demo.superapp.users.developer);
      await openPage(developer, 'Payment configuration');
      const merchants = developer.locator('.ant-card').filter({ hasText: 'Merchant list' });
      await merchants.getByRole('row', { name: /1900000101/ }).waitFor();
      expect(await developer.getByText('Payment settings').count()).toBe(0);
      expect(await developer.getByRole('button', { name: 'Add merchant' }).count()).toBe(0);
      expect(await developer.getByRole('button', { name: /^Edit / }).count()).toBe(0);
      await developer.context().close();

      const superAdmin = await signIn(demo.superAdmin);
      await choose(superAdmin, superAdmin.getByRole('combobox', { name: 'Current team' }), 'Demo Superapp Co.');
      await openPage(superAdmin, 'Payment configuration');
      await superAdmin.getByText('Your role can see these settings but not change them.').waitFor();
      expect(await superAdmin.getByRole('switch', { name: 'Payment' }).isDisabled()).toBe(true);
      expect(await superAdmin.getByRole('button', { name: 'Save' }).count()).toBe(0);
      expect(await superAdmin.getByRole('button', { name: 'Add merchant' }).count()).toBe(0);
      await superAdmin.screenshot({ path: screenshotPath('payment-configuration-super-admin'), fullPage: true });

      await openPage(superAdmin, 'Approvals');
      await superAdmin.getByTestId('approvals-read-only').waitFor();
      await superAdmin.getByRole('tab', { name: 'Decided' }).click();
      await superAdmin.getByRole('button', { name: 'Refresh' }).waitFor();
      await eventually(() => superAdmin.locator('tbody tr.ant-table-row').count()).toBeGreaterThan(0);
      for (const action of ['Approve', 'Reject', 'Disable payment', 'Unbind'])
        expect(await superAdmin.getByRole('button', { name: action }).count()).toBe(0);
      await superAdmin.context().close();
    },
    longFlow,
  );

  it(
    'takes a team from no binding to an effective one with the superapp currencies, and back',
    async () => {
      const teamAdmin = await signIn(demo.unboundTeam.users.admin);
      // Without a binding, Standard payment says why a request is not possible yet.
      await openPage(teamAdmin, 'Standard payment');
      await teamAdmin.getByText('This team has no effective merchant binding: bind a merchant before requesting payment.').waitFor();
      await eventually(() => teamAdmin.getByRole('button', { name: 'Request permission' }).isDisabled()).toBe(true);
      await teamAdmin.screenshot({ path: screenshotPath('payment-standard-payment-unbound'), fullPage: true });
      await openPage(teamAdmin, 'Bind merchant');
      await teamAdmin.getByText('No merchant is bound to this team yet').waitFor();

      // A typed merchant must match the superapp's list; the server's refusal shows on the field.
      await teamAdmin.getByRole('button', { name: 'Request binding' }).click();
      const dialog = await settled(teamAdmin.getByRole('dialog', { name: 'Request binding' }));
      await dialog.getByText('Type the merchant ID and name').click();
      await dialog.getByRole('textbox', { name: 'Merchant ID' }).fill('1900000102');
      await dialog.getByRole('textbox', { name: 'Merchant name' }).fill('Not its name');
      await dialog.getByRole('button', { name: 'Submit request' }).click();
      await dialog.getByText('The merchant name does not match the merchant ID').waitFor();
      await dialog.getByText("Pick from the superapp's merchant list").click();
      await choose(teamAdmin, dialog.getByRole('combobox', { name: 'Merchant' }), '1900000102 — Demo Spare Merchant');
      await dialog.getByRole('button', { name: 'Submit request' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await teamAdmin.getByText(/A binding request for 1900000102 — Demo Spare Merchant is waiting for the superapp/).waitFor();
      expect(await teamAdmin.getByRole('button', { name: 'Request binding' }).count()).toBe(0);

      const reviewer = await signIn(demo.superapp.users.reviewer);
      await openPage(reviewer, 'Approvals');
      await reviewer.locator('.ant-segmented').getByText('Merchant binding', { exact: true }).click();
      const request = reviewer.getByRole('row', { name: /Team Demo Unbound Team/ });
      await request.getByRole('button', { name: 'Approve' }).click();
      await (await settled(reviewer.getByRole('dialog', { name: 'Approve request' }))).getByRole('button', { name: 'Approve' }).click();
      await eventually(() => request.count()).toBe(0);

      await teamAdmin.reload();
      const effective = teamAdmin.getByTestId('effective-binding');
      await eventually(() => effective.innerText()).toContain('Effective');
      expect(await effective.innerText()).toContain('1900000102');
      for (const code of (await savedConfig()).currencies) expect(await effective.innerText()).toContain(code);
      await teamAdmin
        .getByRole('button', { name: /expand/i })
        .first()
        .click();
      await teamAdmin.getByText(demo.superapp.users.reviewer.account, { exact: false }).first().waitFor();
      await teamAdmin.screenshot({ path: screenshotPath('payment-bind-merchant-effective'), fullPage: true });

      // The superapp unbinds; the team sees the record end.
      await reviewer.getByRole('tab', { name: 'Decided' }).click();
      const decided = reviewer.getByRole('row', { name: /Team Demo Unbound Team/ });
      await decided.getByRole('button', { name: 'Unbind' }).click();
      await (await settled(reviewer.getByRole('tooltip'))).getByRole('button', { name: 'OK' }).click();
      // (The team's own name contains "Unbound": wait for the action to go, not for the word.)
      await reviewer.getByText('Merchant unbound', { exact: true }).waitFor();
      await eventually(() => decided.getByRole('button', { name: 'Unbind' }).count()).toBe(0);
      await reviewer.context().close();

      await teamAdmin.reload();
      await teamAdmin.getByText('No merchant is bound to this team yet').waitFor();
      await eventually(() => teamAdmin.getByRole('row', { name: /1900000102/ }).innerText()).toContain('Unbound by the superapp');
      await teamAdmin.context().close();
    },
    longFlow,
  );

  it(
    'keeps the old binding effective while a change waits, and replaces it once approved',
    async () => {
      const mpAdmin = await signIn(demo.miniProgramTeam.users.admin);
      await openPage(mpAdmin, 'Bind merchant');
      const effective = mpAdmin.getByTestId('effective-binding');
      await eventually(() => effective.innerText()).toContain('1900000101');
      await mpAdmin.getByRole('button', { name: 'Change merchant' }).click();
      const dialog = await settled(mpAdmin.getByRole('dialog', { name: 'Change merchant' }));
      await dialog.getByText('Merchant 1900000101 stays bound until the superapp approves the change.').waitFor();
      await choose(mpAdmin, dialog.getByRole('combobox', { name: 'Merchant' }), '1900000199 — E2E Tea House');
      await dialog.getByRole('button', { name: 'Submit request' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await mpAdmin.getByText(/A change to 1900000199 — E2E Tea House is waiting for the superapp/).waitFor();
      expect(await effective.innerText()).toContain('1900000101');
      expect(await mpAdmin.getByRole('button', { name: 'Change merchant' }).count()).toBe(0);
      await mpAdmin.screenshot({ path: screenshotPath('payment-bind-merchant-change-pending'), fullPage: true });

      const reviewer = await signIn(demo.superapp.users.reviewer);
      await openPage(reviewer, 'Approvals');
      const request = reviewer.getByRole('row', { name: /Team Demo Shop Team/ });
      await eventually(() => request.innerText()).toContain('1900000199');
      await request.getByRole('button', { name: 'Approve' }).click();
      await (await settled(reviewer.getByRole('dialog', { name: 'Approve request' }))).getByRole('button', { name: 'Approve' }).click();
      await eventually(() => request.count()).toBe(0);
      await reviewer.context().close();

      await mpAdmin.reload();
      await eventually(() => effective.innerText()).toContain('1900000199');
      await eventually(() => mpAdmin.getByRole('row', { name: /1900000101/ }).innerText()).toContain('Replaced by a change');
      await mpAdmin.context().close();
    },
    longFlow,
  );

  it(
    'shows an MP operator the binding read-only, in Simplified Chinese too',
    async () => {
      const operator = await signIn(demo.miniProgramTeam.users.operator, 'zh-CN');
      await openPage(operator, '绑定商户');
      await operator.getByTestId('binding-read-only').waitFor();
      await eventually(() => operator.getByTestId('effective-binding').innerText()).toContain('已生效');
      for (const action of [/申请绑定/, /变更商户/, /^解\s*绑$/])
        expect(await operator.getByRole('button', { name: action }).count()).toBe(0);
      await operator.screenshot({ path: screenshotPath('payment-bind-merchant-operator-zh-cn'), fullPage: true });

      await openPage(operator, '标准支付');
      await operator.getByTestId('standard-payment-read-only').waitFor();
      expect(await operator.getByRole('button', { name: '申请权限' }).count()).toBe(0);
      await operator.screenshot({ path: screenshotPath('payment-standard-payment-operator-zh-cn'), fullPage: true });
      await operator.context().close();
    },
    longFlow,
  );

  it(
    'switches to host-reported with a refund webhook, lists the sandbox connection an open order still uses, shows the host key once',
    async () => {
      const { selectableChannelKinds } = await savedConfig();
      // Only where this deployment offers the host-reported connection (SPEC §4.5).
      if (!selectableChannelKinds.includes('host_reported')) return;
      const page = await signIn(demo.superapp.users.admin);
      await openPage(page, 'Payment configuration');
      const settings = page.locator('.ant-card').filter({ hasText: 'Payment settings' });
      await settings.getByText('Host-reported', { exact: true }).click();
      await settings.getByLabel('Refund webhook URL').fill('http://refunds.example.com/hook');
      await settings.getByRole('button', { name: 'Save' }).click();
      await settings.getByText('An absolute https URL').waitFor();
      await settings.getByLabel('Refund webhook URL').fill('https://refunds.example.com/hook');
      // The statement URL beside the refund webhook (SPEC §9.1), under the same https rule.
      await settings.getByLabel('Statement URL').fill('http://refunds.example.com/statements');
      await settings.getByRole('button', { name: 'Save' }).click();
      // The statement URL's own message: the webhook's may still be fading out beside it.
      await settings.getByText(/statementUrl: must be an absolute https URL/).waitFor();
      expect((await savedConfig()).channelKind).not.toBe('host_reported');
      await settings.getByLabel('Statement URL').fill('https://refunds.example.com/statements');
      await settings.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved', { exact: true }).waitFor();
      const switched = await savedConfig();
      expect(switched).toMatchObject({
        channelKind: 'host_reported',
        channelSettings: { webhookUrl: 'https://refunds.example.com/hook' },
        statementUrl: 'https://refunds.example.com/statements',
      });
      await eventually(() => settings.getByLabel('Statement URL').inputValue()).toBe('https://refunds.example.com/statements');
      const sandboxConnection = switched.previousConnections.find((connection) => connection.kind === 'sandbox');
      expect(sandboxConnection?.openOrders).toBeGreaterThanOrEqual(1);
      const previous = page.getByRole('region', { name: 'Previous channel connections still in use' });
      const sandboxRow = previous.getByRole('row', { name: /Sandbox/ });
      await eventually(() => sandboxRow.locator('td').nth(3).innerText()).toBe(String(sandboxConnection?.openOrders));

      await settings.getByRole('button', { name: 'Issue host key' }).click();
      await (await settled(page.getByRole('tooltip'))).getByRole('button', { name: 'OK' }).click();
      const issued = await settled(page.getByRole('dialog', { name: 'Host key issued' }));
      const hostKey = (await issued.locator('code').innerText()).trim();
      expect(hostKey.length).toBeGreaterThanOrEqual(32);
      await page.screenshot({ path: screenshotPath('payment-configuration-host-key') });
      await issued.getByRole('button', { name: 'I have saved the host key' }).click();
      await eventually(() => page.getByText(hostKey).count()).toBe(0);
      await page.context().close();
    },
    longFlow,
  );

  it('loaded without script errors', () => {
    expect(scriptErrors).toEqual([]);
  });

  /** The superapp's saved payment configuration, read through the console API as its Administrator. */
  async function savedConfig(): Promise<{
    currencies: string[];
    selectableChannelKinds: string[];
    channelKind: string | null;
    channelSettings: Record<string, string>;
    statementUrl: string | null;
    previousConnections: Array<{ kind: string; openOrders: number; openRefunds: number }>;
  }> {
    const admin = await ConsoleClient.signIn(server.context.app, demo.superapp.users.admin.account, demo.superapp.users.admin.password);
    return (await admin.get(`/superapps/${demo.superapp.applicationId}/payment-config`)).body;
  }
});
