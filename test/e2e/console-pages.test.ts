import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import {
  describeWithBrowser,
  newConsolePage,
  screenshotPath,
  startDemoConsole,
  submitSignIn,
  type ConsoleServer,
} from '../helpers/browser.ts';

describeWithBrowser('console pages in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;

  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ server, browser, demo, close: stop } = await startDemoConsole());
  }, 240_000);

  afterAll(async () => {
    await stop?.();
  });

  async function openSignIn(): Promise<Page> {
    const page = await newConsolePage(browser, server.baseUrl, { viewport: { width: 1360, height: 860 } });
    await page.goto('/console/sign-in');
    return page;
  }

  async function signIn(account: string, password: string, path = '/'): Promise<Page> {
    const page = await openSignIn();
    await submitSignIn(page, { account, password });
    if (path !== '/') await page.goto(path);
    return page;
  }

  /** Picks an option of an antd Select (typing into its search first when it has one). */
  async function choose(page: Page, combobox: Locator, option: string) {
    await combobox.click();
    if (await combobox.isEditable()) await combobox.fill(option);
    await page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').getByTitle(option, { exact: true }).click();
  }

  const combobox = (scope: Page | Locator, name: string) => scope.getByRole('combobox', { name });

  const nav = (page: Page) => page.getByTestId('console-nav');

  it('shows the rate-limit message after repeated failures', async () => {
    const page = await openSignIn();
    await page.getByLabel('Account').fill('nobody-at-all');
    await page.getByLabel('Password').fill('wrong-password');
    for (let attempt = 0; attempt < 6; attempt++) {
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('sign-in-error').waitFor();
      await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isEnabled()).toBe(true);
    }
    await expect.poll(() => page.getByTestId('sign-in-error').innerText()).toContain('Too many failed sign-in attempts');
    await page.context().close();
  });

  it('lets the super admin create and disable a team, and follows the team switcher', async () => {
    const page = await signIn(demo.superAdmin.account, demo.superAdmin.password, '/console/teams');
    await page.getByRole('button', { name: 'Create team' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Mini program team', { exact: true }).click();
    await dialog.getByLabel('Name').fill('E2E Team');
    await choose(page, combobox(dialog, 'Superapp'), 'Demo Superapp');
    await choose(page, combobox(dialog, 'Administrator'), 'Unbound team administrator (demo-unbound-admin)');
    await dialog.getByLabel('Expires').fill('2030-06-01T12:00');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('row', { name: /E2E Team/ });
    await row.waitFor();
    await expect.poll(() => row.innerText()).toContain('2030');

    await row.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('dialog').getByText('Disabled', { exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.innerText()).toContain('Disabled');

    // Team-scoped entries follow the team switcher.
    await choose(page, combobox(page, 'Current team'), 'Demo Shop Team');
    await nav(page).getByRole('menuitem', { name: 'Mini programs' }).waitFor();
    await choose(page, combobox(page, 'Current team'), 'Demo Superapp Co.');
    await expect.poll(() => nav(page).getByRole('menuitem', { name: 'Mini programs' }).count()).toBe(0);
    await page.context().close();
  });

  it('pages through the audit log with "load more" and shows before/after as JSON', async () => {
    // Sign-ins are audited: enough of them to need a second page.
    for (let signIns = 0; signIns < 60; signIns++)
      await server.context.services.auth.signIn(demo.superAdmin.account, demo.superAdmin.password, '127.0.0.2');
    const page = await signIn(demo.superAdmin.account, demo.superAdmin.password, '/console/audit-log');
    const rows = page.locator('tbody tr.ant-table-row');
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows.count()).toBeGreaterThan(50);
    while (await page.getByRole('button', { name: 'Load more' }).isVisible()) {
      const shown = await rows.count();
      await page.getByRole('button', { name: 'Load more' }).click();
      await expect.poll(() => rows.count()).toBeGreaterThan(shown);
    }
    await page.getByText('No more entries').waitFor();

    const teamCreated = page.getByRole('row', { name: /team\.create/ }).first();
    await teamCreated.getByRole('button', { name: /expand/i }).click();
    await page.getByText('"administratorUserId"').first().waitFor();
    await page.screenshot({ path: screenshotPath('console-pages-audit-log'), fullPage: false });
    await page.context().close();
  });

  it("lets the MP administrator manage the team's members and mini programs", async () => {
    const admin = demo.miniProgramTeam.users.admin;
    const page = await signIn(admin.account, admin.password, '/console/members');
    await page.getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('dialog').getByLabel('Account').fill('demo-sa-developer');
    await choose(page, combobox(page.getByRole('dialog'), 'Role'), 'Developer');
    await page.getByRole('dialog').getByRole('button', { name: 'Add member' }).click();
    const row = page.getByRole('row', { name: /demo-sa-developer/ });
    await row.waitFor();

    await choose(page, combobox(row, 'Role demo-sa-developer'), 'Operator');
    await page.getByText('Role changed').waitFor();
    await row.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('tooltip').getByRole('button', { name: 'OK' }).click();
    await expect.poll(() => row.count()).toBe(0);

    await nav(page).getByRole('menuitem', { name: 'Mini programs' }).click();
    await page.getByRole('button', { name: 'Register mini program' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('E2E Mini');
    await page.getByRole('dialog').getByLabel('Category').fill('Tools');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('cell', { name: /E2E Mini/ }).waitFor();
    await page.context().close();
  });

  it('shows a server refusal inside the form', async () => {
    const admin = demo.miniProgramTeam.users.admin;
    const page = await signIn(admin.account, admin.password, '/console/members');
    await page.getByRole('button', { name: 'Add member' }).click();
    const account = page.getByRole('dialog').getByLabel('Account');
    // The dialog may still be opening under a loaded machine: submit only once the typed account is really there.
    await account.fill('no-such-account');
    await expect.poll(() => account.inputValue()).toBe('no-such-account');
    await page.getByRole('dialog').getByRole('button', { name: 'Add member' }).click();
    await page.getByRole('dialog').getByText('this account cannot be added to the team').waitFor();
    await page.context().close();
  });
});
