import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  describeWithBrowser,
  launchBrowser,
  newConsolePage,
  screenshotPath,
  startConsoleServer,
  submitSignIn,
  tableRows,
  type ConsoleServer,
} from '../helpers/browser.ts';
import { createUser } from '../helpers/factories.ts';
import { loadActor } from '../../src/services/auth/index.ts';
import { userRepository } from '../../src/repositories/user.repository.ts';

/** The own-password form: the password changes, the session goes on, and the API keys that still work are offered for revoking. */
describeWithBrowser('changing your own password in Chromium', () => {
  let server: ConsoleServer;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startConsoleServer({ backgroundJobs: false });
    browser = await launchBrowser();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('changes the password, keeps the session, lists the active API keys and revokes them', async () => {
    const { context } = server;
    const user = await createUser(context);
    const actor = await loadActor(
      context.database.db,
      (await userRepository.findById(context.database.db, user.id))!,
      context.clock.nowMs(),
    );
    const deploy = await context.services.apiKeys.create(actor, 'deploy script');
    const backup = await context.services.apiKeys.create(actor, 'backup job');

    const page = await newConsolePage(browser, server.baseUrl, { scriptErrors: problems });
    await page.goto('/');
    await page.waitForURL(/\/console\/sign-in/);
    await submitSignIn(page, user);

    await page.getByRole('button', { name: 'Change password' }).click();
    const form = page.getByRole('dialog', { name: 'Change password' });
    await form.getByLabel('Current password').fill('not my password');
    await form.getByLabel('New password', { exact: true }).fill('a much better password');
    await form.getByLabel('Repeat the new password').fill('a much better password');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByText('the current password is incorrect').waitFor();

    await form.getByLabel('Current password').fill(user.password);
    await form.getByRole('button', { name: 'Change password' }).click();
    const keys = page.getByRole('dialog', { name: 'Your API keys still work' });
    await keys.waitFor();
    const rows = tableRows(keys.getByTestId('active-api-keys'));
    await expect
      .poll(() => rows.allInnerTexts())
      .toEqual([expect.stringContaining(deploy.secretId), expect.stringContaining(backup.secretId)]);
    await page.screenshot({ path: screenshotPath('own-password-active-keys') });

    // Revoking one key works under the renewed session (its CSRF token replaced the old one).
    await rows.filter({ hasText: deploy.secretId }).getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await context.services.apiKeys.resolve(deploy.secretId)).toBeUndefined();
    await keys.getByRole('button', { name: 'Revoke all' }).click();
    await expect.poll(() => rows.count()).toBe(0);
    expect(await context.services.apiKeys.resolve(backup.secretId)).toBeUndefined();
    await keys.getByRole('button', { name: 'Keep the remaining keys' }).click();

    // Still signed in; the new password is the one that works now.
    await page.getByTestId('console-nav').getByRole('menuitem', { name: 'API keys' }).click();
    await expect
      .poll(() => tableRows(page.locator('.ant-table')).allInnerTexts())
      .toEqual([expect.stringContaining('Revoked'), expect.stringContaining('Revoked')]);
    const signIn = (password: string) =>
      context.app.inject({ method: 'POST', url: '/api/v1/session', payload: { account: user.account, password } });
    expect((await signIn(user.password)).statusCode).toBe(401);
    expect((await signIn('a much better password')).statusCode).toBe(200);
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
