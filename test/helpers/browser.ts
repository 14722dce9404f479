import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { describe, it } from 'vitest';
import type { DemoManifest } from '../../src/services/demo/demo-world.service.ts';
import { createTestContext, type TestContext } from './test-context.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const chromiumCandidates = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];

/** Debian's Chromium (never a downloaded one); PAYTHROUGH_CHROMIUM points elsewhere if needed. */
export const chromiumExecutable = [process.env.PAYTHROUGH_CHROMIUM, ...chromiumCandidates].find(
  (candidate): candidate is string => !!candidate && existsSync(candidate),
);
export const browserRequired = process.env.PAYTHROUGH_REQUIRE_BROWSER === '1';

/**
 * A browser suite: skipped with a clear name where Chromium is absent, and failing instead when
 * PAYTHROUGH_REQUIRE_BROWSER=1 (CI installs Chromium, so a missing one there is a broken setup).
 */
export function describeWithBrowser(name: string, suite: () => void) {
  if (chromiumExecutable) {
    describe(name, suite);
  } else if (browserRequired) {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(
          `PAYTHROUGH_REQUIRE_BROWSER=1 but no Chromium at ${chromiumCandidates.join(' or ')}; install it: apt-get install -y chromium`,
        );
      });
    });
  } else {
    describe.skip(`${name} — SKIPPED: Chromium not found at ${chromiumCandidates.join(' or ')} (apt-get install -y chromium)`, suite);
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumExecutable,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

const webDist = path.join(repositoryRoot, 'web/dist/index.html');
// What the bundle is built from: a change to any of these makes web/dist stale.
const webSources = ['web/src', 'web/index.html', 'vite.config.ts', 'src/domain'].map((source) => path.join(repositoryRoot, source));
const buildLock = path.join(tmpdir(), 'paythrough-web-build.lock');

function newestModification(target: string): number {
  if (!existsSync(target)) return 0;
  const stat = statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(target).map((entry) => newestModification(path.join(target, entry))));
}

function webBuildIsFresh(): boolean {
  return existsSync(webDist) && statSync(webDist).mtimeMs >= Math.max(...webSources.map(newestModification));
}

/** The bridge bundle the server serves (`bridge/dist`); rebuilt when its sources are newer. */
export function ensureBridgeBuilt(): void {
  const bundle = path.join(repositoryRoot, 'bridge/dist/paythrough-bridge.js');
  const sources = Math.max(
    newestModification(path.join(repositoryRoot, 'bridge/src')),
    newestModification(path.join(repositoryRoot, 'bridge/vite.config.ts')),
  );
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return;
  execFileSync(process.execPath, [path.join(repositoryRoot, 'node_modules/vite/bin/vite.js'), 'build', '-c', 'bridge/vite.config.ts'], {
    cwd: repositoryRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
}

/** Builds the console unless web/dist is newer than its sources; one build at a time across test workers. */
export async function ensureWebConsoleBuilt(): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!webBuildIsFresh()) {
    try {
      mkdirSync(buildLock);
    } catch {
      // Another worker is building; wait for it (a lock older than the deadline is a crashed build).
      if (Date.now() > deadline) rmSync(buildLock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    try {
      if (!webBuildIsFresh()) {
        execFileSync(process.execPath, [path.join(repositoryRoot, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
          cwd: repositoryRoot,
          env: { ...process.env, NODE_ENV: 'production' },
          stdio: ['ignore', 'ignore', 'inherit'],
          timeout: 170_000,
        });
      }
    } finally {
      rmSync(buildLock, { recursive: true, force: true });
    }
  }
}

export interface ConsoleServer {
  context: TestContext;
  baseUrl: string;
  close(): Promise<void>;
}

/** The real server on a free port, over a fresh migrated SQLite database, with the console built. */
export async function startConsoleServer(options: { backgroundJobs?: boolean } = {}): Promise<ConsoleServer> {
  await ensureWebConsoleBuilt();
  const context = await createTestContext('sqlite', options);
  const baseUrl = await context.app.listen({ port: 0, host: '127.0.0.1' });
  return { context, baseUrl, close: () => context.close() };
}

export interface DemoConsole {
  server: ConsoleServer;
  browser: Browser;
  demo: DemoManifest;
  close(): Promise<void>;
}

/** The server with the demo world, and Chromium: what most browser suites start in `beforeAll`. */
export async function startDemoConsole(
  options: {
    now?: number;
    backgroundJobs?: boolean;
    /**
     * When the demo world is built (default `now`): suites that count their own dated records build it months back,
     * so its yesterday (SPEC §9.5) lies behind theirs.
     */
    demoBuiltAt?: number;
  } = {},
): Promise<DemoConsole> {
  const server = await startConsoleServer({ backgroundJobs: options.backgroundJobs });
  // Pages compute date ranges from the wall clock; suites that seed dated records pin both to one instant.
  if (options.now !== undefined) server.context.clock.set(options.now);
  const pinned = server.context.clock.nowMs();
  if (options.demoBuiltAt !== undefined) server.context.clock.set(options.demoBuiltAt);
  const demo = await server.context.services.demoWorld.ensure();
  server.context.clock.set(pinned);
  const browser = await launchBrowser();
  return {
    server,
    browser,
    demo,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

export interface ConsolePageOptions {
  locale?: string;
  timezoneId?: string;
  viewport?: { width: number; height: number };
  defaultTimeout?: number;
  /** Collects the page's script errors, so the suite can fail on them at its end. */
  scriptErrors?: string[];
}

/** A page in a fresh browser context (its own cookies), on the server under test. */
export async function newConsolePage(browser: Browser, baseUrl: string, options: ConsolePageOptions = {}): Promise<Page> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    locale: options.locale ?? 'en-US',
    timezoneId: options.timezoneId,
    viewport: options.viewport ?? { width: 1440, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(options.defaultTimeout ?? 15_000);
  const scriptErrors = options.scriptErrors;
  if (scriptErrors) page.on('pageerror', (error) => scriptErrors.push(`${page.url()}: ${error.message}`));
  return page;
}

/** Fills the console's sign-in form (English or Chinese) on a page showing it, and waits for the navigation. */
export async function submitSignIn(page: Page, user: { account: string; password: string }, locale = 'en-US'): Promise<void> {
  const chinese = locale === 'zh-CN';
  await page.getByLabel(chinese ? '账号' : 'Account').fill(user.account);
  await page.getByLabel(chinese ? '密码' : 'Password').fill(user.password);
  // antd spaces out two-character Chinese button labels ("登 录").
  await page.getByRole('button', { name: chinese ? /^登\s*录$/ : 'Sign in' }).click();
  await page.getByTestId('console-nav').waitFor();
}

/** Opens a console page from the navigation menu and waits for its heading. */
export async function openConsolePage(page: Page, label: string): Promise<void> {
  await page.getByTestId('console-nav').getByRole('menuitem', { name: label }).click();
  await page.getByRole('heading', { level: 3, name: label }).waitFor();
}

/** Picks one option of an antd Select and closes its dropdown. */
export async function chooseOption(page: Page, combobox: Locator, option: string): Promise<void> {
  await combobox.click();
  await (await settled(page.locator('.ant-select-dropdown:not(.ant-select-dropdown-hidden)').getByTitle(option, { exact: true }))).click();
  await page.keyboard.press('Escape');
}

/** An antd table's data rows (not its placeholder row). */
export const tableRows = (table: Locator) => table.locator('tbody tr.ant-table-row');

/** The text of one column of an antd table's data rows, top to bottom. */
export const columnTexts = (table: Locator, column: number) =>
  tableRows(table).evaluateAll((rows, index) => rows.map((row) => row.querySelectorAll('td')[index]?.textContent ?? ''), column);

/** Screenshots for a human look; test-results/ is gitignored. */
export function screenshotPath(name: string): string {
  const folder = path.join(repositoryRoot, 'test-results');
  mkdirSync(folder, { recursive: true });
  return path.join(folder, `${name}.png`);
}

/**
 * Waits until an antd popup (modal, popconfirm) has finished opening: its motion classes (`*-appear`,
 * `*-enter`) are gone. A click during the zoom-in can land on the mask, which closes a modal.
 */
export async function settled<T extends Locator>(popup: T): Promise<T> {
  await popup.waitFor();
  const deadline = Date.now() + 15_000;
  for (;;) {
    const moving = await popup.evaluate((element) => {
      for (let node: Element | null = element; node; node = node.parentElement) {
        if (typeof node.className === 'string' && /-(appear|enter)(-active)?(\s|$)/.test(node.className)) return true;
      }
      return false;
    });
    if (!moving) return popup;
    if (Date.now() > deadline) throw new Error('popup still animating after 15 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
