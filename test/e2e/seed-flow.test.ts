import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Download, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemActor } from '../../src/domain/access.ts';
import {
  describeWithBrowser,
  ensureBridgeBuilt,
  ensureWebConsoleBuilt,
  launchBrowser,
  newConsolePage,
  submitSignIn,
} from '../helpers/browser.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';

// SPEC §4.4: the whole seed flow from an empty database, through web pages only, in Chromium:
// console (tenancy, binding, enablement, credentials), the demo (host, mini program, cashier, merchant
// server), then the records. The README's screenshots (docs/screenshots) are taken on the way.

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The README's screenshots are refreshed on request only, so a test run leaves the checkout as it found it.
const screenshotFolder = path.join(
  repositoryRoot,
  process.env.PAYTHROUGH_UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-results/seed-flow',
);
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 150 });
const step = 120_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const people = {
  superAdmin: { account: 'root', password: 'root-password-123' },
  saAdmin: { account: 'sa-admin', password: 'sa-admin-password-1', name: 'Sam Superapp' },
  reviewer: { account: 'sa-reviewer', password: 'sa-reviewer-password-1', name: 'Rita Reviewer' },
  mpAdmin: { account: 'mp-admin', password: 'mp-admin-password-1', name: 'Mia Miniprogram' },
  mpOperator: { account: 'mp-operator', password: 'mp-operator-password-1', name: 'Otto Operator' },
};
const apiV3Key = 'Seed0Flow1Key2ApiV3Abcdefghijk34';
const merchant = { id: '1900000555', name: 'Seed Flow Coffee Ltd.' };

describeWithBrowser('the seed flow from an empty database, through web pages only (Chromium)', () => {
  let context: TestContext;
  let baseUrl: string;
  let browser: Browser;
  let ticking: NodeJS.Timeout;
  const scriptErrors: string[] = [];
  const state: {
    mnpId?: string;
    outTradeNo?: string;
    serialNo?: string;
    privateKeyPem?: string;
    platformPublicKeyPem?: string;
    platformSerial?: string;
  } = {};

  beforeAll(async () => {
    await ensureWebConsoleBuilt();
    ensureBridgeBuilt();
    mkdirSync(screenshotFolder, { recursive: true });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    context = await createTestContext('sqlite', { config: { publicUrl: baseUrl, port } });
    // A browser flow runs on the wall clock (the pages compute date ranges from it too).
    context.clock.set(Date.now());
    ticking = setInterval(() => context.clock.set(Date.now()), 200);
    await context.app.listen({ port, host: '127.0.0.1' });
    // The install step (`paythrough create-admin`); everything after it happens in the browser.
    await context.services.users.createUnchecked(systemActor('cli'), {
      account: people.superAdmin.account,
      displayName: 'Root',
      password: people.superAdmin.password,
      platformRole: 'super_admin',
    });
    browser = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    clearInterval(ticking);
    await browser?.close();
    await context?.close();
    expect(scriptErrors).toEqual([]);
  });

  async function newPage(viewport = { width: 1440, height: 900 }): Promise<Page> {
    return newConsolePage(browser, baseUrl, { viewport, defaultTimeout: 20_000, scriptErrors });
  }

  async function signIn(user: { account: string; password: string }): Promise<Page> {
    const page = await newPage();
    await page.goto('/console/sign-in');
    await submitSignIn(page, user);
    return page;
  }

  const nav = (page: Page) => page.getByTestId('console-nav');
  const openPage = async (page: Page, label: string, heading = label) => {
    await nav(page).getByRole('menuitem', { name: label }).click();
    await page.getByRole('heading', { level: 3, name: new RegExp(`^${heading}`) }).waitFor();
  };
  const settled = async (locator: Locator) => {
    await locator.waitFor();
    // antd animates dialogs and dropdowns in; click once they stand still.
    await locator.page().waitForTimeout(250);
    return locator;
  };
  async function choose(page: Page, combobox: Locator, option: string) {
    await combobox.click();
    if (await combobox.isEditable()) await combobox.fill(option);
    // The dropdown that is opening, not one still animating out.
    const dropdown = await settled(page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden):not([class*="-leave"])').last());
    await dropdown.getByTitle(option, { exact: true }).click();
  }
  const shot = (page: Page | Locator, name: string) => page.screenshot({ path: path.join(screenshotFolder, `${name}.png`) });
  const savedDownload = async (download: Download) => readFile(await download.path(), 'utf8');

  it(
    'the super admin creates the users, the superapp team, the superapp and the mini program team',
    async () => {
      const page = await signIn(people.superAdmin);
      await openPage(page, 'Users');
      for (const user of [people.saAdmin, people.reviewer, people.mpAdmin, people.mpOperator]) {
        await page.getByRole('button', { name: 'Create user' }).click();
        const dialog = await settled(page.getByRole('dialog', { name: 'Create user' }));
        await dialog.getByLabel('Account').fill(user.account);
        await dialog.getByLabel('Name').fill(user.name);
        await dialog.getByLabel('Initial password').fill(user.password);
        await choose(page, dialog.getByRole('combobox', { name: 'Platform role' }), 'Member');
        await dialog.getByRole('button', { name: 'Create' }).click();
        await dialog.waitFor({ state: 'hidden' });
        await page.getByRole('row', { name: new RegExp(user.account) }).waitFor();
      }

      await openPage(page, 'Teams');
      await page.getByRole('button', { name: 'Create team' }).click();
      let dialog = await settled(page.getByRole('dialog', { name: 'Create team' }));
      await dialog.getByText('Superapp team', { exact: true }).click();
      await dialog.getByLabel('Name').fill('Seed Superapp Co.');
      await choose(page, dialog.getByRole('combobox', { name: 'Administrator' }), `${people.saAdmin.name} (${people.saAdmin.account})`);
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByRole('row', { name: /Seed Superapp Co\./ }).waitFor();

      // The superapp page lists the teams of the session: load it afresh.
      await page.reload();
      await openPage(page, 'Superapps');
      await page.getByRole('button', { name: 'Create superapp' }).click();
      dialog = await settled(page.getByRole('dialog', { name: 'Create superapp' }));
      await choose(page, dialog.getByRole('combobox', { name: 'Owning superapp team' }), 'Seed Superapp Co.');
      await dialog.getByLabel('Name').fill('Seed Superapp');
      await dialog.getByLabel('Description').fill('The superapp of the seed flow');
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page
        .getByRole('row', { name: /Seed Superapp/ })
        .first()
        .waitFor();

      await openPage(page, 'Teams');
      await page.getByRole('button', { name: 'Create team' }).click();
      dialog = await settled(page.getByRole('dialog', { name: 'Create team' }));
      await dialog.getByText('Mini program team', { exact: true }).click();
      await dialog.getByLabel('Name').fill('Seed Coffee Team');
      await choose(page, dialog.getByRole('combobox', { name: 'Superapp' }), 'Seed Superapp');
      await choose(page, dialog.getByRole('combobox', { name: 'Administrator' }), `${people.mpAdmin.name} (${people.mpAdmin.account})`);
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByRole('row', { name: /Seed Coffee Team/ }).waitFor();
      await shot(page, 'console-teams');
    },
    step,
  );

  it(
    'the team administrators add the review staff and the operator, register the mini program and set up payment',
    async () => {
      const saAdmin = await signIn(people.saAdmin);
      await openPage(saAdmin, 'Team members', 'Members of');
      await saAdmin.getByRole('button', { name: 'Add member' }).click();
      let dialog = await settled(saAdmin.getByRole('dialog'));
      await dialog.getByLabel('Account').fill(people.reviewer.account);
      await choose(saAdmin, dialog.getByRole('combobox', { name: 'Role' }), 'Review staff');
      await dialog.getByRole('button', { name: 'Add member' }).click();
      await saAdmin.getByRole('row', { name: new RegExp(people.reviewer.account) }).waitFor();

      await openPage(saAdmin, 'Payment configuration');
      const settings = saAdmin.locator('.ant-card').filter({ hasText: 'Payment settings' });
      const paymentSwitch = settings.getByRole('switch', { name: 'Payment' });
      if (!(await paymentSwitch.isChecked())) await paymentSwitch.click();
      await settings.getByRole('radio', { name: /^Sandbox/ }).check();
      const currencies = settings.getByRole('combobox', { name: 'Allowed currencies' });
      if (!(await settings.getByText('CNY', { exact: false }).count())) {
        await currencies.click();
        await currencies.fill('CNY');
        const dropdown = await settled(
          saAdmin.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden):not([class*="-leave"])').last(),
        );
        await dropdown.getByTitle(/^CNY/).click();
        await saAdmin.keyboard.press('Escape');
      }
      await settings.getByRole('button', { name: 'Save' }).click();
      await saAdmin.getByText('Saved', { exact: true }).waitFor();
      const merchants = saAdmin.locator('.ant-card').filter({ hasText: 'Merchant list' });
      await merchants.getByRole('button', { name: 'Add merchant' }).click();
      dialog = await settled(saAdmin.getByRole('dialog', { name: 'Add merchant' }));
      await dialog.getByLabel('Merchant ID').fill(merchant.id);
      await dialog.getByLabel('Merchant name').fill(merchant.name);
      await dialog.getByRole('button', { name: 'Add merchant' }).click();
      await merchants.getByRole('row', { name: new RegExp(merchant.id) }).waitFor();
      await shot(saAdmin, 'console-payment-configuration');

      const mpAdmin = await signIn(people.mpAdmin);
      await openPage(mpAdmin, 'Team members', 'Members of');
      await mpAdmin.getByRole('button', { name: 'Add member' }).click();
      dialog = await settled(mpAdmin.getByRole('dialog'));
      await dialog.getByLabel('Account').fill(people.mpOperator.account);
      await choose(mpAdmin, dialog.getByRole('combobox', { name: 'Role' }), 'Operator');
      await dialog.getByRole('button', { name: 'Add member' }).click();
      await mpAdmin.getByRole('row', { name: new RegExp(people.mpOperator.account) }).waitFor();

      await nav(mpAdmin).getByRole('menuitem', { name: 'Mini programs' }).click();
      await mpAdmin.getByRole('button', { name: 'Register mini program' }).click();
      dialog = await settled(mpAdmin.getByRole('dialog'));
      await dialog.getByLabel('Name').fill('Seed Coffee Shop');
      await dialog.getByLabel('Category').fill('Food & drink');
      await dialog.getByRole('button', { name: 'Create' }).click();
      const row = mpAdmin.getByRole('row', { name: /Seed Coffee Shop/ });
      await row.waitFor();
      state.mnpId = /mnp_[0-9A-Za-z_-]+/.exec(await row.innerText())?.[0];
      expect(state.mnpId).toBeTruthy();
    },
    step,
  );

  it(
    'the MP administrator requests a merchant binding and the superapp approves it',
    async () => {
      const mpAdmin = await signIn(people.mpAdmin);
      await openPage(mpAdmin, 'Bind merchant');
      await mpAdmin.getByRole('button', { name: 'Request binding' }).click();
      const dialog = await settled(mpAdmin.getByRole('dialog', { name: 'Request binding' }));
      await dialog.getByText("Pick from the superapp's merchant list").click();
      await choose(mpAdmin, dialog.getByRole('combobox', { name: 'Merchant' }), `${merchant.id} — ${merchant.name}`);
      await dialog.getByRole('button', { name: 'Submit request' }).click();
      await mpAdmin.getByText(new RegExp(`A binding request for ${merchant.id}`)).waitFor();

      const saAdmin = await signIn(people.saAdmin);
      await openPage(saAdmin, 'Approvals');
      await saAdmin.locator('.ant-segmented').getByText('Merchant binding', { exact: true }).click();
      // Table rows only: the approve dialog's own description rows also name the team.
      const request = saAdmin.locator('tr.ant-table-row').filter({ hasText: 'Seed Coffee Team' });
      await request.getByRole('button', { name: 'Approve' }).click();
      const approve = await settled(saAdmin.getByRole('dialog', { name: 'Approve request' }));
      await approve.getByRole('button', { name: 'Approve' }).click();
      await approve.waitFor({ state: 'hidden' });
      await eventually(() => request.count()).toBe(0);

      await mpAdmin.reload();
      await eventually(() => mpAdmin.getByTestId('effective-binding').innerText()).toContain('Effective');
    },
    step,
  );

  it(
    'the MP administrator requests payment permission with a message, and the review staff approves',
    async () => {
      const mpAdmin = await signIn(people.mpAdmin);
      await openPage(mpAdmin, 'Standard payment');
      const row = mpAdmin.getByRole('row').filter({ has: mpAdmin.getByText('Seed Coffee Shop', { exact: true }) });
      await row.getByRole('button', { name: 'Request permission' }).click();
      const dialog = await settled(mpAdmin.getByRole('dialog', { name: 'Request permission' }));
      await dialog.getByLabel('Request message').fill('Seed Coffee Shop sells beans and brewing gear');
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      await eventually(() => row.innerText()).toContain('Pending approval');

      const reviewer = await signIn(people.reviewer);
      await openPage(reviewer, 'Approvals');
      const pending = reviewer.locator('tr.ant-table-row').filter({ hasText: state.mnpId! });
      await eventually(() => pending.innerText()).toContain('Seed Coffee Shop sells beans and brewing gear');
      await shot(reviewer, 'console-approvals');
      await pending.getByRole('button', { name: 'Approve' }).click();
      const approve = await settled(reviewer.getByRole('dialog', { name: 'Approve request' }));
      await approve.getByLabel('Note').fill('Welcome aboard');
      await approve.getByRole('button', { name: 'Approve' }).click();
      await approve.waitFor({ state: 'hidden' });
      await eventually(() => pending.count()).toBe(0);
    },
    step,
  );

  it(
    'the MP administrator takes the credentials from the console into the demo merchant settings',
    async () => {
      const mpAdmin = await signIn(people.mpAdmin);
      await openPage(mpAdmin, 'Standard payment');
      const row = mpAdmin.getByRole('row').filter({ has: mpAdmin.getByText('Seed Coffee Shop', { exact: true }) });
      await eventually(() => row.innerText()).toContain('Approved');
      await row.getByRole('button', { name: 'Credentials' }).click();
      await eventually(() => mpAdmin.getByTestId('payment-account').innerText()).toContain(state.mnpId!);
      state.serialNo = (await mpAdmin.getByTestId('certificate-serial').innerText()).trim();
      const [keyDownload] = await Promise.all([
        mpAdmin.waitForEvent('download'),
        mpAdmin.getByRole('button', { name: 'Download private key' }).click(),
      ]);
      state.privateKeyPem = await savedDownload(keyDownload);
      await mpAdmin.getByRole('button', { name: 'Set APIv3 key' }).click();
      const keyDialog = await settled(mpAdmin.getByRole('dialog', { name: 'Set APIv3 key' }));
      await keyDialog.getByLabel('APIv3 key').fill(apiV3Key);
      await keyDialog.getByRole('button', { name: 'Save' }).click();
      await keyDialog.waitFor({ state: 'hidden' });
      const platformKey = mpAdmin.getByTestId('platform-key').first();
      const [platformDownload] = await Promise.all([
        mpAdmin.waitForEvent('download'),
        platformKey.getByRole('button', { name: 'Download platform public key' }).click(),
      ]);
      state.platformPublicKeyPem = await savedDownload(platformDownload);
      state.platformSerial = /PUB_KEY_ID_[0-9A-Za-z_]+/.exec(await platformKey.innerText())?.[0] ?? '';
      await shot(mpAdmin, 'console-standard-payment-credentials');

      const settings = await newPage({ width: 1100, height: 900 });
      await settings.goto('/demo/merchant/settings');
      await settings.getByText('No credentials yet').waitFor();
      await settings.getByLabel('Mini program ID (appid)').fill(state.mnpId!);
      await settings.getByLabel('Merchant ID (mchid)').fill(merchant.id);
      await settings.getByLabel('Merchant certificate serial number').fill(state.serialNo);
      await settings.getByLabel('Merchant private key (PEM)').fill(state.privateKeyPem);
      await settings.getByLabel('APIv3 key').fill(apiV3Key);
      await settings.getByLabel('Platform key ID or serial (optional)').fill(state.platformSerial);
      await settings.getByLabel('Platform public key (PEM)').fill(state.platformPublicKeyPem);
      await settings.getByRole('button', { name: 'Save' }).click();
      await settings.getByText('Saved.').waitFor();
      await eventually(() => settings.locator('#current').innerText()).toContain(
        `Now using mini program ${state.mnpId} (merchant ${merchant.id}) from these settings`,
      );
    },
    step,
  );

  it(
    'a shopper buys in the demo mini program and pays in the cashier; the merchant server shows the verified notification',
    async () => {
      const host = await newPage({ width: 1280, height: 860 });
      await host.goto('/demo');
      const shop = host.frameLocator('#mini-program');
      await eventually(() => shop.locator('#shop-info').innerText()).toContain(state.mnpId!);
      await shot(host, 'demo-host');
      const beans = shop.getByRole('listitem').filter({ hasText: 'Coffee beans' });
      await beans.getByRole('button', { name: 'Buy' }).click();

      const cashier = host.frameLocator('iframe[title="Cashier"]');
      await eventually(() => cashier.locator('#amount').innerText()).toContain('68.00 CNY');
      state.outTradeNo = (await cashier.locator('#out-trade-no').innerText()).trim();
      expect(state.outTradeNo).toMatch(/^DEMO/);
      await shot(host, 'demo-cashier');
      await cashier.getByRole('button', { name: 'Pay' }).click();
      await eventually(() => shop.locator('#result').innerText()).toContain(`Paid: ${state.outTradeNo}`);
      await eventually(() => host.locator('#log').innerText()).toContain('requestPayment:ok');
      await eventually(() => shop.locator(`li[data-order="${state.outTradeNo}"]`).innerText()).toContain('SUCCESS');
      await shot(host, 'demo-paid');

      const notifications = await newPage({ width: 1280, height: 700 });
      await notifications.goto('/demo/merchant/notifications');
      const received = notifications.getByRole('row').filter({ hasText: state.outTradeNo! });
      await eventually(() => received.innerText()).toContain('TRANSACTION.SUCCESS');
      expect(await received.innerText()).toContain('verified');
      expect(await received.innerText()).toContain('SUCCESS');
      await shot(notifications, 'demo-merchant-notifications');
    },
    step,
  );

  it(
    'a cancelled payment and tampered parameters do not pay',
    async () => {
      const host = await newPage({ width: 1280, height: 860 });
      await host.goto('/demo');
      const shop = host.frameLocator('#mini-program');
      await shop.getByRole('listitem').filter({ hasText: 'Enamel mug' }).getByRole('button', { name: 'Buy' }).click();
      const cashier = host.frameLocator('iframe[title="Cashier"]');
      await cashier.getByRole('button', { name: 'Cancel' }).click();
      await eventually(() => shop.locator('#result').innerText()).toContain('requestPayment:fail cancel');
      expect(await host.locator('[data-paythrough="cashier-overlay"]').count()).toBe(0);

      // A container that passes on tampered parameters: the bridge refuses them and opens no cashier.
      const tampered = await host.evaluate(async () => {
        const placed = await (
          await fetch('/demo/merchant/api/orders', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ goodsId: 'mug', quantity: 1 }),
          })
        ).json();
        const bridge = (window as any).PaythroughBridge.createPaymentBridge({ appId: placed.payment.appId });
        try {
          await bridge.requestPayment({ ...placed.payment, package: placed.payment.package, nonceStr: `${placed.payment.nonceStr}x` });
          return 'requestPayment:ok';
        } catch (error) {
          return (error as { errMsg: string }).errMsg;
        }
      });
      expect(tampered).toBe('requestPayment:fail paySign does not verify');
      expect(await host.locator('[data-paythrough="cashier-overlay"]').count()).toBe(0);
    },
    step,
  );

  it(
    '"pay inside the host app": the host looks the pre-order up, charges with its wallet and reports the payment (host API)',
    async () => {
      const host = await newPage({ width: 1280, height: 860 });
      await host.goto('/demo');
      await host.getByLabel('pay inside the host app (host API)').check();
      const shop = host.frameLocator('#mini-program');
      await shop.getByRole('listitem').filter({ hasText: 'Pour-over dripper' }).getByRole('button', { name: 'Buy' }).click();
      const wallet = host.getByRole('dialog', { name: 'Superapp wallet' });
      await eventually(() => wallet.innerText()).toContain('129.00 CNY');
      await shot(host, 'demo-host-wallet');
      await wallet.getByRole('button', { name: 'Pay with wallet' }).click();
      await eventually(() => shop.locator('#result').innerText()).toMatch(/^Paid: DEMO/);
      await eventually(() => host.locator('#log').innerText()).toContain('host API payOrder → SUCCESS');
    },
    step,
  );

  it(
    'an MP operator sees the order as paid in the Order record',
    async () => {
      const operator = await signIn(people.mpOperator);
      await nav(operator).getByRole('menuitem', { name: 'Order record' }).click();
      await operator.getByTestId('order-filters').waitFor();
      const row = operator.locator('tr.ant-table-row').filter({ hasText: state.outTradeNo! });
      await eventually(() => row.innerText()).toContain('SUCCESS');
      expect(await row.innerText()).toContain('68.00 CNY');
      await shot(operator, 'console-order-record');
    },
    step,
  );

  it(
    'the shopper asks for a refund in the mini program; the merchant server receives the refund notification',
    async () => {
      const host = await newPage({ width: 1280, height: 860 });
      await host.goto('/demo');
      const shop = host.frameLocator('#mini-program');
      const order = shop.locator(`li[data-order="${state.outTradeNo}"]`);
      await order.getByRole('button', { name: 'Refund' }).click();
      await eventually(() => shop.locator('#result').innerText()).toMatch(/Refund R.* requested: (PROCESSING|SUCCESS)/);
      const notifications = await newPage({ width: 1280, height: 700 });
      await notifications.goto('/demo/merchant/notifications');
      // The sandbox completes refunds after a few seconds.
      await eventually(() =>
        notifications
          .getByRole('row')
          .filter({ hasText: `R${state.outTradeNo}` })
          .first()
          .innerText(),
      ).toContain('REFUND.SUCCESS');
      await eventually(() => order.innerText()).toContain('REFUND');
    },
    step,
  );

  /** Starts a CSV export on a records page and reads the file once the export job is done. */
  async function exportCsv(page: Page): Promise<string> {
    await page.getByRole('button', { name: /CSV/ }).click();
    const link = page.getByTestId('exports-panel').getByTestId('export-download').first();
    await link.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    return savedDownload(download);
  }

  it(
    'the refund shows in the After-sales record, and the exports contain the order and the refund',
    async () => {
      const operator = await signIn(people.mpOperator);
      await nav(operator).getByRole('menuitem', { name: 'After-sales record' }).click();
      await operator.getByTestId('refund-filters').waitFor();
      const row = operator.locator('tr.ant-table-row').filter({ hasText: `R${state.outTradeNo}` });
      await eventually(() => row.innerText()).toContain('SUCCESS');
      expect(await row.innerText()).toContain(state.outTradeNo!);
      await shot(operator, 'console-after-sales-record');
      const refunds = await exportCsv(operator);
      expect(refunds).toContain(`R${state.outTradeNo}`);

      await nav(operator).getByRole('menuitem', { name: 'Order record' }).click();
      await operator.getByTestId('order-filters').waitFor();
      await eventually(() => operator.locator('tr.ant-table-row').filter({ hasText: state.outTradeNo! }).innerText()).toContain('REFUND');
      const orders = await exportCsv(operator);
      expect(orders).toContain(state.outTradeNo!);
    },
    step,
  );
});
