import type { Browser, Page } from 'playwright-core';
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

describeWithBrowser('console shell in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  const problems: string[] = [];

  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ server, browser, demo, close: stop } = await startDemoConsole());
  }, 240_000);

  afterAll(async () => {
    await stop?.();
  });

  async function openConsole(): Promise<Page> {
    // Script errors and CSP violations fail the test at the end rather than hiding in the log.
    const page = await newConsolePage(browser, server.baseUrl, {
      viewport: { width: 1360, height: 860 },
      defaultTimeout: 30_000,
      scriptErrors: problems,
    });
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
    });
    await page.goto('/');
    await page.waitForURL(/\/console\/sign-in/);
    return page;
  }

  async function signIn(account: string, password: string): Promise<Page> {
    const page = await openConsole();
    await submitSignIn(page, { account, password });
    return page;
  }

  const navLabels = async (page: Page) =>
    (await page.getByTestId('console-nav').getByRole('menuitem').allInnerTexts()).map((label) => label.trim());

  it('shows the server message for a wrong password', async () => {
    const page = await openConsole();
    await page.getByLabel('Account').fill(demo.superAdmin.account);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByTestId('sign-in-error').innerText()).toContain('The account or password is incorrect');
    await page.screenshot({ path: screenshotPath('console-shell-sign-in-error') });
    await page.context().close();
  });

  it('gives the super admin the platform navigation', async () => {
    const page = await signIn(demo.superAdmin.account, demo.superAdmin.password);
    await page.getByRole('heading', { name: /Welcome/ }).waitFor();
    await page.screenshot({ path: screenshotPath('console-shell-super-admin-home') });
    const labels = await navLabels(page);
    expect(labels).toEqual(expect.arrayContaining(['Home', 'Users', 'Teams', 'Team members', 'Superapps', 'Audit log', 'API keys']));

    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByRole('cell', { name: 'demo-mp-operator', exact: true }).waitFor();
    await expect.poll(() => page.getByRole('button', { name: 'Create user' }).count()).toBe(1);

    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Teams' }).click();
    await page.getByRole('cell', { name: 'Demo Shop Team', exact: true }).waitFor();
    await page.screenshot({ path: screenshotPath('console-shell-super-admin-teams'), fullPage: true });

    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Audit log' }).click();
    await page.getByRole('cell', { name: 'team.create' }).first().waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in/);
    await page.context().close();
  });

  it('shows an MP operator only what the role may use', async () => {
    const operator = demo.miniProgramTeam.users.operator;
    const page = await signIn(operator.account, operator.password);
    const labels = await navLabels(page);
    expect(labels).toEqual(expect.arrayContaining(['Home', 'Team members', 'Mini programs', 'API keys']));
    for (const hidden of ['Users', 'Superapps', 'Audit log']) expect(labels).not.toContain(hidden);
    await expect.poll(() => page.getByTestId('team-switcher').innerText()).toContain('Demo Shop Team');

    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Team members' }).click();
    await page.getByRole('cell', { name: operator.account, exact: true }).waitFor();
    await page.getByTestId('members-read-only').waitFor();
    expect(await page.getByRole('button', { name: 'Add member' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Remove' }).count()).toBe(0);
    expect(await page.getByRole('combobox', { name: /^Role / }).count()).toBe(0);
    await page.screenshot({ path: screenshotPath('console-shell-mp-operator-members'), fullPage: true });

    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'Mini programs' }).click();
    await page
      .getByRole('cell', { name: /Demo Shop/ })
      .first()
      .waitFor();
    expect(await page.getByRole('button', { name: 'Register mini program' }).count()).toBe(0);

    // A typed URL shows no more than the menu does (the server refuses the data anyway).
    await page.goto('/console/users');
    await page.getByTestId('access-denied').waitFor();
    await page.context().close();
  });

  it('creates an API key and shows its SecretKey once (a CSRF-protected POST)', async () => {
    const operator = demo.miniProgramTeam.users.operator;
    const page = await signIn(operator.account, operator.password);
    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'Create API key' }).click();
    await page.getByRole('dialog').getByLabel('Description').fill('e2e');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    const secretKey = await page.getByTestId('new-secret-key').innerText();
    expect(secretKey.trim().length).toBeGreaterThan(20);
    await page.getByText('This is the only time the SecretKey is shown').waitFor();
    await page.getByRole('dialog', { name: 'Create API key' }).waitFor({ state: 'hidden' });
    await page.screenshot({ path: screenshotPath('console-shell-api-key-created') });
    await page.getByRole('button', { name: 'I have saved the SecretKey' }).click();
    await page.getByRole('cell', { name: 'e2e', exact: true }).waitFor();
    // Gone with the dialog: the SecretKey is never shown again.
    await expect.poll(() => page.getByText(secretKey.trim()).count()).toBe(0);
    await page.context().close();
  });

  it('switches the labels to Simplified Chinese and remembers it', async () => {
    const admin = demo.miniProgramTeam.users.admin;
    const page = await signIn(admin.account, admin.password);
    await page.getByTestId('language-switch').getByText('中文').click();
    await expect.poll(() => navLabels(page)).toEqual(expect.arrayContaining(['首页', '团队成员', '小程序', 'API 密钥', '审计日志']));
    await expect.poll(() => page.getByRole('button', { name: '退出登录' }).count()).toBe(1);

    await page.reload();
    await page.getByTestId('console-nav').waitFor();
    await page.getByTestId('console-nav').getByRole('menuitem', { name: '团队成员' }).click();
    await page.getByRole('button', { name: '添加成员' }).waitFor();
    await page.screenshot({ path: screenshotPath('console-shell-zh-cn-members'), fullPage: true });
    await page.context().close();
  });

  it('loaded without script errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
