import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest, DemoReadyMiniGame } from '../../src/services/demo/demo-world.service.ts';
import {
  chooseOption,
  describeWithBrowser,
  newConsolePage,
  screenshotPath,
  settled,
  startDemoConsole,
  submitSignIn,
  tableRows,
  type ConsoleServer,
} from '../helpers/browser.ts';

// Browser steps share two CPUs with the rest of the suite: poll for as long as a locator would wait.
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const longFlow = 180_000;

// SPEC §8.9: Commercialization → Virtual payment (Basic configuration, Items) and its approvals, by role (SPEC §8.1).
describeWithBrowser('virtual payment pages in the console (Chromium)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  let game: DemoReadyMiniGame;
  const scriptErrors: string[] = [];
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ server, browser, demo, close: stop } = await startDemoConsole());
    game = demo.miniGames!.ready;
  }, 240_000);

  afterAll(async () => {
    await stop?.();
    expect(scriptErrors).toEqual([]);
  });

  async function signIn(user: { account: string; password: string }, locale = 'en-US'): Promise<Page> {
    const page = await newConsolePage(browser, server.baseUrl, { locale, scriptErrors });
    await page.goto('/console/sign-in');
    await submitSignIn(page, user, locale);
    return page;
  }

  async function openApprovals(page: Page, kind: string) {
    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Approvals' }).click();
    await page.getByRole('heading', { level: 3, name: 'Approvals' }).waitFor();
    await page.locator('.ant-segmented').getByText(kind, { exact: true }).click();
  }

  /** Opens Virtual payment on the demo game, picked in the mini program picker. */
  async function openVirtualPayment(page: Page, tab: 'Basic configuration' | 'Items') {
    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Virtual payment' }).click();
    await page.getByRole('heading', { level: 3, name: 'Virtual payment' }).waitFor();
    const picker = page.getByRole('combobox', { name: 'Mini program' });
    await picker.waitFor();
    await chooseOption(page, picker, `Demo Knights (${game.mnpId})`);
    await page.getByRole('tab', { name: tab }).click();
  }

  const itemRow = (page: Page, productId: string) => tableRows(page.getByTestId('virtual-items')).filter({ hasText: productId });

  it(
    'lets the MP senior developer create an item that the superapp reviewer approves, and refuses a bad ProductId',
    async () => {
      const senior = await signIn(demo.miniProgramTeam.users.seniorDeveloper);
      await openVirtualPayment(senior, 'Items');
      for (const item of game.items) await itemRow(senior, item.productId).getByText('APPROVED').waitFor();
      await eventually(() => tableRows(senior.getByTestId('virtual-items')).count()).toBe(2);
      const gems = game.items.find((item) => item.productId === 'gem_pack_60')!;
      const major = `${Math.floor(gems.price / 100)}.${String(gems.price % 100).padStart(2, '0')} ${gems.currency}`;
      expect(await itemRow(senior, 'gem_pack_60').innerText()).toContain(major);

      // A ProductId outside [A-Za-z0-9_-] is the server's InvalidProductId, shown in words on its field; nothing is saved.
      await senior.getByRole('button', { name: 'Create item' }).click();
      const dialog = await settled(senior.getByRole('dialog', { name: 'Create item' }));
      await dialog.getByLabel('ProductId').fill('bad id!');
      await dialog.getByLabel('Name').fill('Bad item');
      await dialog.getByLabel(/^Price/).fill('600');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByText('The ProductId must be 1 to 64 letters, digits, _ or -.').waitFor();
      expect(await dialog.isVisible()).toBe(true);

      // A valid one is saved PENDING: the superapp has not approved it yet.
      await dialog.getByLabel('ProductId').fill('shield_pack');
      await dialog.getByLabel('Name').fill('Shield pack');
      await dialog.getByLabel(/^Price/).fill('1250');
      await dialog.getByTestId('item-price-preview').getByText('12.50 CNY').waitFor();
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await itemRow(senior, 'shield_pack').getByText('PENDING').waitFor();
      expect(await itemRow(senior, 'shield_pack').innerText()).toContain('12.50 CNY');
      await eventually(() => tableRows(senior.getByTestId('virtual-items')).count()).toBe(3);
      expect(await itemRow(senior, 'bad id!').count()).toBe(0);

      // The same ProductId again is FailedOperation.VirtualItemExists, in words.
      await senior.getByRole('button', { name: 'Create item' }).click();
      const again = await settled(senior.getByRole('dialog', { name: 'Create item' }));
      await again.getByLabel('ProductId').fill('shield_pack');
      await again.getByLabel('Name').fill('Shield pack twice');
      await again.getByLabel(/^Price/).fill('100');
      await again.getByRole('button', { name: 'Save' }).click();
      await again.getByText('This mini program already has an item with this ProductId.').waitFor();
      await again.getByRole('button', { name: 'Cancel' }).click();
      await again.waitFor({ state: 'hidden' });
      await senior.screenshot({ path: screenshotPath('virtual-payment-items'), fullPage: true });

      const reviewer = await signIn(demo.superapp.users.reviewer);
      await openApprovals(reviewer, 'Virtual item');
      const request = reviewer.getByRole('row', { name: /Item shield_pack/ });
      await request.getByText('Pending approval').waitFor();
      await request.getByRole('button', { name: 'Approve' }).click();
      await (await settled(reviewer.getByRole('dialog', { name: 'Approve request' }))).getByRole('button', { name: 'Approve' }).click();
      await eventually(() => request.count()).toBe(0);
      await reviewer.getByRole('tab', { name: 'Decided' }).click();
      await reviewer
        .getByRole('row', { name: /Item shield_pack/ })
        .getByText('Approved')
        .waitFor();
      await reviewer.context().close();

      await senior.getByRole('button', { name: 'Refresh' }).click();
      await itemRow(senior, 'shield_pack').getByText('APPROVED').waitFor();
      await senior.context().close();
    },
    longFlow,
  );

  it(
    'reveals the AppKey to the MP administrator and senior developer only, and refuses a delivery URL that is no URL',
    async () => {
      const admin = await signIn(demo.miniProgramTeam.users.admin);
      await openVirtualPayment(admin, 'Basic configuration');
      const account = admin.getByTestId('virtual-payment-account');
      await account.getByTestId('offer-id').getByText(game.offerId).waitFor();
      await account.getByText(game.mchid, { exact: true }).waitFor();
      expect(await account.getByTestId('app-key').innerText()).not.toContain(game.appKey);
      await account.getByRole('button', { name: 'Reveal' }).click();
      await account.getByTestId('app-key').getByText(game.appKey).waitFor();
      await account.getByTestId('delivery-url').getByText(game.deliveryUrl).waitFor();

      await account.getByRole('button', { name: 'Edit delivery URL' }).click();
      const dialog = await settled(admin.getByRole('dialog', { name: 'Edit delivery URL' }));
      await dialog.getByLabel('Delivery URL').fill('not a url');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByText(/absolute https URL/).waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      // Nothing changed.
      await account.getByTestId('delivery-url').getByText(game.deliveryUrl).waitFor();

      // Reset says first that the old key stops working at once (cancelled here: other suites sign with it).
      await account.getByRole('button', { name: 'Reset AppKey' }).click();
      const confirm = await settled(admin.getByRole('dialog').filter({ hasText: 'Reset the AppKey?' }));
      await confirm.getByText(/the old one stops working at once/).waitFor();
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await admin.screenshot({ path: screenshotPath('virtual-payment-configuration'), fullPage: true });
      await admin.context().close();

      const senior = await signIn(demo.miniProgramTeam.users.seniorDeveloper);
      await openVirtualPayment(senior, 'Basic configuration');
      await senior.getByTestId('virtual-payment-account').getByRole('button', { name: 'Reveal' }).click();
      await senior.getByTestId('app-key').getByText(game.appKey).waitFor();
      await senior.context().close();

      // The operator sees the account read-only: no AppKey at all, no reveal, no edits.
      const operator = await signIn(demo.miniProgramTeam.users.operator);
      await openVirtualPayment(operator, 'Basic configuration');
      const readOnly = operator.getByTestId('virtual-payment-account');
      await readOnly.getByTestId('offer-id').getByText(game.offerId).waitFor();
      await readOnly.getByText('Only the Administrator and Senior developers see the AppKey.').waitFor();
      expect(await readOnly.getByRole('button', { name: 'Reveal' }).count()).toBe(0);
      expect(await readOnly.getByRole('button', { name: 'Reset AppKey' }).count()).toBe(0);
      expect(await readOnly.getByRole('button', { name: 'Edit delivery URL' }).count()).toBe(0);
      expect(await operator.getByTestId('app-key').count()).toBe(0);
      await operator.getByRole('tab', { name: 'Items' }).click();
      await itemRow(operator, 'gem_pack_60').waitFor();
      expect(await operator.getByRole('button', { name: 'Create item' }).count()).toBe(0);
      await operator.context().close();
    },
    longFlow,
  );

  it(
    'saves items APPROVED at once under an approved exemption, until the superapp revokes it; the page speaks Chinese',
    async () => {
      const senior = await signIn(demo.miniProgramTeam.users.seniorDeveloper);
      await openVirtualPayment(senior, 'Items');
      const exemption = senior.getByTestId('item-exemption');
      await exemption.getByText('Not requested').waitFor();
      await exemption.getByRole('button', { name: 'Request exemption' }).click();
      const dialog = await settled(senior.getByRole('dialog', { name: 'Request approval exemption for items' }));
      await dialog.getByLabel('Message to the reviewer').fill('Our items are all cosmetic');
      await dialog.getByRole('button', { name: 'Confirm' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await exemption.getByText('Pending approval').waitFor();

      const reviewer = await signIn(demo.superapp.users.reviewer);
      await openApprovals(reviewer, 'Item approval exemption');
      const request = reviewer.getByRole('row', { name: /Our items are all cosmetic/ });
      await request.getByRole('button', { name: 'Approve' }).click();
      await (await settled(reviewer.getByRole('dialog', { name: 'Approve request' }))).getByRole('button', { name: 'Approve' }).click();
      await eventually(() => request.count()).toBe(0);

      await senior.getByRole('button', { name: 'Refresh' }).click();
      await exemption.getByText('Approved', { exact: true }).waitFor();
      await senior.getByRole('button', { name: 'Create item' }).click();
      const create = await settled(senior.getByRole('dialog', { name: 'Create item' }));
      await create.getByLabel('ProductId').fill('exempt_pack');
      await create.getByLabel('Name').fill('Exempt pack');
      await create.getByLabel(/^Price/).fill('300');
      await create.getByRole('button', { name: 'Save' }).click();
      await create.waitFor({ state: 'hidden' });
      await itemRow(senior, 'exempt_pack').getByText('APPROVED').waitFor();

      await reviewer.getByRole('tab', { name: 'Decided' }).click();
      const decided = reviewer.getByRole('row', { name: /Our items are all cosmetic/ });
      await decided.getByRole('button', { name: 'Revoke exemption' }).click();
      await (await settled(reviewer.getByRole('tooltip'))).getByRole('button', { name: 'OK' }).click();
      await reviewer.getByText('Exemption revoked', { exact: true }).waitFor();
      await decided.getByText('Revoked').waitFor();
      await reviewer.context().close();
      await senior.getByRole('button', { name: 'Refresh' }).click();
      await exemption.getByText('Revoked').waitFor();
      await senior.context().close();

      const chinese = await signIn(demo.miniProgramTeam.users.seniorDeveloper, 'zh-CN');
      await chinese.getByTestId('console-nav').getByRole('menuitem', { name: '虚拟支付' }).click();
      await chinese.getByRole('heading', { level: 3, name: '虚拟支付' }).waitFor();
      await chooseOption(chinese, chinese.getByRole('combobox', { name: '小程序' }), `Demo Knights (${game.mnpId})`);
      await chinese.getByRole('tab', { name: '道具' }).click();
      await itemRow(chinese, 'gem_pack_60').getByText('已通过').waitFor();
      await chinese.getByTestId('item-exemption').getByText('已撤销').waitFor();
      await chinese.screenshot({ path: screenshotPath('virtual-payment-items-zh-cn'), fullPage: true });
      await chinese.context().close();
    },
    longFlow,
  );

  it(
    'edits an approved item into a pending revision while it sells, takes it offline and resubmits it',
    async () => {
      const senior = await signIn(demo.miniProgramTeam.users.seniorDeveloper);
      await openVirtualPayment(senior, 'Items');
      const row = itemRow(senior, 'skin_knight');
      await row.getByText('APPROVED').waitFor();
      const selling = await row.innerText();

      await row.getByRole('button', { name: 'Edit skin_knight' }).click();
      const dialog = await settled(senior.getByRole('dialog', { name: 'Edit item skin_knight' }));
      expect(await dialog.getByLabel('ProductId').isDisabled()).toBe(true);
      await dialog.getByLabel('Name').fill('Knight skin (gold)');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'hidden' });
      // The approved version keeps selling: its name stays, and the revision waits beside it.
      await row.getByTestId('pending-revision').waitFor();
      expect(await row.getByText('APPROVED').count()).toBe(1);
      expect(await row.innerText()).toContain(selling.split('\t')[1]!.trim());

      await row.getByRole('button', { name: 'Take offline' }).click();
      await (await settled(senior.getByRole('tooltip'))).getByRole('button', { name: 'OK' }).click();
      await row.getByText('OFFLINE').waitFor();
      await row.getByRole('button', { name: 'Resubmit' }).click();
      await row.getByText('PENDING', { exact: true }).waitFor();
      // Going offline withdrew the waiting revision, so what is resubmitted is the version that sold; no separate marker.
      expect(await row.getByTestId('pending-revision').count()).toBe(0);
      expect(await row.innerText()).not.toContain('Knight skin (gold)');
      await senior.context().close();
    },
    longFlow,
  );
});
