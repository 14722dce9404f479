import { createServer, type AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBrowser, ensureBridgeBuilt, ensureWebConsoleBuilt, launchBrowser, newConsolePage } from '../helpers/browser.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';

// SPEC §8.9 in Chromium: the demo host runs the mini game, the player buys an item, pays in the sandbox cashier,
// and the item arrives in the inventory once the delivery notification reached the game's merchant server; then the
// player refunds it, which the merchant server does through xpay/refund_order.
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 20_000, interval: 150 });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeWithBrowser('the demo mini game in the demo host (browser)', () => {
  let context: TestContext;
  let browser: Browser;
  let page: Page;
  const scriptErrors: string[] = [];

  beforeAll(async () => {
    await ensureWebConsoleBuilt();
    ensureBridgeBuilt();
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    // The delivery URL is this server's own receiver: PUBLIC_URL names the port it listens on.
    context = await createTestContext('sqlite', { config: { publicUrl: baseUrl, port } });
    context.clock.set(Date.now());
    await context.app.listen({ port, host: '127.0.0.1' });
    await context.services.demoWorld.ensure();
    browser = await launchBrowser();
    page = await newConsolePage(browser, baseUrl, { viewport: { width: 1280, height: 860 }, scriptErrors });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await context?.close();
    expect(scriptErrors).toEqual([]);
  });

  it('buys the knight skin, pays in the cashier, finds it in the inventory, and refunds it', async () => {
    await page.goto('/demo');
    await page.getByLabel('Demo Knights (mini game, virtual payment)').check();
    const game = page.frameLocator('#mini-program');
    await eventually(() => game.locator('#game-info').innerText()).toContain('Mini game mnp_');
    const knight = game.getByRole('listitem').filter({ hasText: 'Knight skin' });
    await knight.getByRole('button', { name: 'Buy' }).click();

    const cashier = page.frameLocator('iframe[title="Cashier"]');
    await eventually(() => cashier.locator('#amount').innerText()).toContain('18.00 CNY');
    await cashier.getByRole('button', { name: 'Pay' }).click();
    await eventually(() => page.locator('#log').innerText()).toContain('requestMidasPaymentGameItem:ok');
    await eventually(() => game.locator('#result').innerText()).toContain('Knight skin delivered to your inventory.');
    await eventually(() => game.locator('#inventory li[data-product-id="skin_knight"]').count()).toBe(1);

    await game.getByRole('list', { name: 'Purchases' }).getByRole('button', { name: 'Refund' }).click();
    await eventually(() => game.locator('#result').innerText()).toContain('requested through xpay/refund_order');
    await eventually(() => game.getByRole('list', { name: 'Purchases' }).innerText()).toContain('Refund requested');
  }, 120_000);

  it('a cancelled cashier delivers nothing', async () => {
    await page.goto('/demo');
    await page.getByLabel('Demo Knights (mini game, virtual payment)').check();
    const game = page.frameLocator('#mini-program');
    await eventually(() => game.locator('#items li').count()).toBe(2);
    await game.getByRole('listitem').filter({ hasText: '60 gems' }).getByRole('button', { name: 'Buy' }).click();
    const cashier = page.frameLocator('iframe[title="Cashier"]');
    await cashier.getByRole('button', { name: 'Cancel' }).click();
    await eventually(() => game.locator('#result').innerText()).toContain('requestMidasPaymentGameItem:fail cancel (-2)');
    expect(await game.locator('#inventory li[data-product-id="gem_pack_60"]').count()).toBe(0);
  }, 120_000);
});
