import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { readFile } from 'node:fs/promises';
import type { Browser, Download, Locator, Page } from 'playwright-core';
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

// Browser steps share two CPUs with the rest of the suite: poll for as long as a locator would wait.
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 100 });
const longFlow = 180_000;

// SPEC §2.2 and §5 in Chromium: request permission, approval, credentials, rejection with a note, re-apply.
describeWithBrowser('payment enablement in the console (Chromium)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let demo: DemoManifest;
  const scriptErrors: string[] = [];

  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ server, browser, demo, close: stop } = await startDemoConsole());
  }, 240_000);

  afterAll(async () => {
    await stop?.();
  });

  async function signIn(user: { account: string; password: string }): Promise<Page> {
    const page = await newConsolePage(browser, server.baseUrl, { scriptErrors });
    await page.goto('/console/sign-in');
    await submitSignIn(page, user);
    return page;
  }

  const nav = (page: Page) => page.getByTestId('console-nav');
  const openPage = async (page: Page, label: string) => {
    await nav(page).getByRole('menuitem', { name: label }).click();
    await page.getByRole('heading', { level: 3, name: new RegExp(`^${label}`) }).waitFor();
  };
  const miniProgramRow = (page: Page, name: string) => page.getByRole('row').filter({ has: page.getByText(name, { exact: true }) });
  const approvalRow = (page: Page, mnpId: string) => page.getByRole('row', { name: new RegExp(mnpId) });

  async function requestPermission(page: Page, row: Locator, buttonName: string, message: string) {
    await row.getByRole('button', { name: buttonName }).click();
    const dialog = await settled(page.getByRole('dialog', { name: 'Request permission' }));
    await dialog.getByLabel('Request message').fill(message);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await eventually(() => row.innerText()).toContain('Pending approval');
  }

  async function savedDownload(download: Download): Promise<string> {
    const file = await download.path();
    return readFile(file, 'utf8');
  }

  it(
    'lets the MP administrator request permission, the review staff approve it, and the administrator download the credentials',
    async () => {
      const fresh = demo.miniPrograms.fresh.mnpId;
      const mpAdmin = await signIn(demo.miniProgramTeam.users.admin);
      await openPage(mpAdmin, 'Standard payment');
      const row = miniProgramRow(mpAdmin, 'Demo Coffee');
      await eventually(() => row.innerText()).toContain('Never applied');
      await requestPermission(mpAdmin, row, 'Request permission', 'Demo Coffee sells coffee to go');
      await eventually(() => row.innerText()).toContain('Demo Coffee sells coffee to go');
      await mpAdmin.screenshot({ path: screenshotPath('payment-standard-payment-pending'), fullPage: true });

      const reviewer = await signIn(demo.superapp.users.reviewer);
      await openPage(reviewer, 'Approvals');
      const pending = approvalRow(reviewer, fresh);
      await eventually(() => pending.innerText()).toContain('Demo Coffee sells coffee to go');
      // Names, not only ids: the mini program and its team.
      await eventually(() => pending.innerText()).toMatch(/Demo Coffee\s[\s\S]*Team Demo Shop Team/);
      await reviewer.screenshot({ path: screenshotPath('payment-approvals-pending'), fullPage: true });
      await pending.getByRole('button', { name: 'Approve' }).click();
      const dialog = await settled(reviewer.getByRole('dialog', { name: 'Approve request' }));
      await dialog.getByLabel('Note').fill('Looks good');
      await dialog.getByRole('button', { name: 'Approve' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await eventually(() => pending.count()).toBe(0);
      await reviewer.getByRole('tab', { name: 'Decided' }).click();
      await eventually(() => approvalRow(reviewer, fresh).innerText()).toContain('Approved');
      await reviewer.context().close();

      await mpAdmin.getByRole('button', { name: 'Refresh' }).click();
      await eventually(() => row.innerText()).toContain('Approved');
      expect(await row.getByRole('button', { name: 'Request permission' }).count()).toBe(0);
      expect(await row.innerText()).toContain(demo.superapp.merchants[0]!.merchantId);

      // The credentials panel of the newly approved mini program.
      await row.getByRole('button', { name: 'Credentials' }).click();
      const account = mpAdmin.getByTestId('payment-account');
      await eventually(() => account.innerText()).toContain(fresh);
      expect(await account.innerText()).toContain(demo.superapp.merchants[0]!.merchantId);
      const serial = (await mpAdmin.getByTestId('certificate-serial').innerText()).trim();
      expect(serial).toMatch(/^[0-9A-F]{40}$/i);
      await mpAdmin.screenshot({ path: screenshotPath('payment-credentials-before-download'), fullPage: true });

      const [keyDownload] = await Promise.all([
        mpAdmin.waitForEvent('download'),
        mpAdmin.getByRole('button', { name: 'Download private key' }).click(),
      ]);
      expect(keyDownload.suggestedFilename()).toBe(`${fresh}_apiclient_key.pem`);
      const privateKeyPem = await savedDownload(keyDownload);
      expect(privateKeyPem).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----\r?\n/);
      const privateKey = createPrivateKey(privateKeyPem);
      expect(privateKey.asymmetricKeyType).toBe('rsa');
      expect(privateKey.asymmetricKeyDetails?.modulusLength).toBeGreaterThanOrEqual(2048);

      const [certificateDownload] = await Promise.all([
        mpAdmin.waitForEvent('download'),
        mpAdmin.getByRole('button', { name: 'Download certificate' }).click(),
      ]);
      const certificate = new X509Certificate(await savedDownload(certificateDownload));
      // The key belongs to the certificate whose serial the page shows.
      expect(certificate.serialNumber.toUpperCase()).toBe(serial.toUpperCase());
      expect(certificate.checkPrivateKey(privateKey)).toBe(true);
      expect(
        createPublicKey(privateKey)
          .export({ type: 'spki', format: 'der' })
          .equals(certificate.publicKey.export({ type: 'spki', format: 'der' })),
      ).toBe(true);

      // Once only: the button is gone and the page says when it was downloaded.
      await eventually(() => mpAdmin.getByRole('button', { name: 'Download private key' }).count()).toBe(0);
      await eventually(() => account.innerText()).toContain('Downloaded');

      // The APIv3 key is checked in the form before the server sees it, then never shown again.
      await mpAdmin.getByRole('button', { name: 'Set APIv3 key' }).click();
      const keyDialog = await settled(mpAdmin.getByRole('dialog', { name: 'Set APIv3 key' }));
      await keyDialog.getByLabel('APIv3 key').fill('abcdefghijklmnopqrstuvwxyz123456');
      await keyDialog.getByRole('button', { name: 'Save' }).click();
      await keyDialog.getByText('Must mix digits, upper-case and lower-case letters').waitFor();
      await keyDialog.getByLabel('APIv3 key').fill('Short1');
      await keyDialog.getByText('Must be exactly 32 characters (now 6)').waitFor();
      const apiV3Key = 'Paythrough2025ApiV3KeyForDemoAbc';
      await keyDialog.getByLabel('APIv3 key').fill(apiV3Key);
      await keyDialog.getByRole('button', { name: 'Save' }).click();
      await keyDialog.waitFor({ state: 'hidden' });
      await eventually(() => account.innerText()).toMatch(/APIv3 key\s*Set /);
      expect(await mpAdmin.content()).not.toContain(apiV3Key);

      // The platform's public key, with its serial, for verifying responses and notifications.
      const platform = demo.miniPrograms.ready;
      const platformKeyPanel = mpAdmin.getByTestId('platform-key').filter({ hasText: platform.platformSerial });
      await eventually(() => platformKeyPanel.innerText()).toContain('Signing');
      const [platformDownload] = await Promise.all([
        mpAdmin.waitForEvent('download'),
        platformKeyPanel.getByRole('button', { name: 'Download platform public key' }).click(),
      ]);
      const platformKey = createPublicKey(await savedDownload(platformDownload));
      expect(platformKey.export({ type: 'spki', format: 'pem' }).toString().trim()).toBe(
        createPublicKey(platform.platformPublicKeyPem).export({ type: 'spki', format: 'pem' }).toString().trim(),
      );
      await mpAdmin.screenshot({ path: screenshotPath('payment-credentials-after-download'), fullPage: true });
      await mpAdmin.context().close();
    },
    longFlow,
  );

  it(
    'resets the key pair after a warning about the old serial, and downloads the new private key at once',
    async () => {
      const fresh = demo.miniPrograms.fresh.mnpId;
      const senior = await signIn(demo.miniProgramTeam.users.seniorDeveloper);
      await openPage(senior, 'Standard payment');
      // Senior developers manage credentials but do not request permission (SPEC §1.1).
      await miniProgramRow(senior, 'Demo Coffee').waitFor();
      expect(await senior.getByRole('button', { name: 'Request permission' }).count()).toBe(0);
      await miniProgramRow(senior, 'Demo Coffee').getByRole('button', { name: 'Credentials' }).click();
      const account = senior.getByTestId('payment-account');
      await eventually(() => account.innerText()).toContain(fresh);
      const oldSerial = (await senior.getByTestId('certificate-serial').innerText()).trim();

      await senior.getByRole('button', { name: 'Reset key pair' }).click();
      const dialog = await settled(senior.getByRole('dialog', { name: 'Reset the merchant key pair' }));
      await dialog.getByText(`serial ${oldSerial} stops working at once`).waitFor();
      await senior.screenshot({ path: screenshotPath('payment-credentials-reset-dialog') });
      const [download] = await Promise.all([senior.waitForEvent('download'), dialog.getByRole('button', { name: 'Reset' }).click()]);
      const privateKey = createPrivateKey(await savedDownload(download));
      const issued = await settled(senior.getByRole('dialog', { name: 'New certificate issued' }));
      const newSerial = (await issued.locator('code').innerText()).trim();
      expect(newSerial).not.toBe(oldSerial);
      await issued.getByRole('button', { name: 'Done' }).click();
      await eventually(async () => (await senior.getByTestId('certificate-serial').innerText()).trim()).toBe(newSerial);

      const [certificateDownload] = await Promise.all([
        senior.waitForEvent('download'),
        senior.getByRole('button', { name: 'Download certificate' }).click(),
      ]);
      const certificate = new X509Certificate(await savedDownload(certificateDownload));
      expect(certificate.serialNumber.toUpperCase()).toBe(newSerial.toUpperCase());
      expect(certificate.checkPrivateKey(privateKey)).toBe(true);
      // The old serial is listed as revoked.
      await eventually(() => senior.getByRole('row', { name: new RegExp(oldSerial) }).innerText()).toContain('Revoked');
      await senior.context().close();
    },
    longFlow,
  );

  it(
    "issues the certificate for the merchant's own public key or CSR, so the private key never leaves them",
    async () => {
      const fresh = demo.miniPrograms.fresh.mnpId;
      const admin = await signIn(demo.miniProgramTeam.users.admin);
      await openPage(admin, 'Standard payment');
      await miniProgramRow(admin, 'Demo Coffee').getByRole('button', { name: 'Credentials' }).click();
      await eventually(() => admin.getByTestId('payment-account').innerText()).toContain(fresh);

      const resetWith = async (
        mode: 'Use my own public key (the private key never leaves you)' | 'Use my certificate signing request (CSR)',
        label: string,
        pem: string,
      ) => {
        await admin.getByRole('button', { name: 'Reset key pair' }).click();
        const dialog = await settled(admin.getByRole('dialog', { name: 'Reset the merchant key pair' }));
        await dialog.getByText(mode).click();
        await dialog.getByLabel(label).fill(pem);
        await dialog.getByRole('button', { name: 'Reset' }).click();
        const issued = await settled(admin.getByRole('dialog', { name: 'New certificate issued' }));
        const serial = (await issued.locator('code').innerText()).trim();
        expect(await issued.getByRole('button', { name: 'Download private key again' }).count()).toBe(0);
        await issued.getByRole('button', { name: 'Done' }).click();
        await eventually(async () => (await admin.getByTestId('certificate-serial').innerText()).trim()).toBe(serial);
        await eventually(() => admin.getByTestId('payment-account').innerText()).toContain('Held only by you');
        const [download] = await Promise.all([
          admin.waitForEvent('download'),
          admin.getByRole('button', { name: 'Download certificate' }).click(),
        ]);
        return new X509Certificate(await savedDownload(download));
      };

      const ownKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const publicKeyPem = ownKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(
        (await resetWith('Use my own public key (the private key never leaves you)', 'Public key (PEM)', publicKeyPem)).checkPrivateKey(
          ownKey.privateKey,
        ),
      ).toBe(true);

      const csrKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const csr = forge.pki.createCertificationRequest();
      csr.publicKey = forge.pki.publicKeyFromPem(csrKey.publicKey.export({ type: 'spki', format: 'pem' }).toString());
      csr.setSubject([{ name: 'commonName', value: demo.superapp.merchants[0]!.merchantId }]);
      csr.sign(
        forge.pki.privateKeyFromPem(csrKey.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
        forge.md.sha256.create(),
      );
      expect(
        (
          await resetWith('Use my certificate signing request (CSR)', 'CSR (PEM)', forge.pki.certificationRequestToPem(csr))
        ).checkPrivateKey(csrKey.privateKey),
      ).toBe(true);
      await admin.screenshot({ path: screenshotPath('payment-credentials-own-key'), fullPage: true });
      await admin.context().close();
    },
    longFlow,
  );

  it(
    'shows an MP developer the payment status but no Request permission button and no credentials',
    async () => {
      const developer = await signIn(demo.miniProgramTeam.users.developer);
      await openPage(developer, 'Standard payment');
      await eventually(() => miniProgramRow(developer, 'Demo Shop').innerText()).toContain('Approved');
      await developer.getByTestId('standard-payment-read-only').waitFor();
      expect(await developer.getByRole('button', { name: 'Request permission' }).count()).toBe(0);
      expect(await developer.getByRole('button', { name: 'Re-apply' }).count()).toBe(0);
      expect(await developer.getByRole('button', { name: 'Credentials' }).count()).toBe(0);
      expect(await developer.getByText('Payment credentials').count()).toBe(0);
      await developer.screenshot({ path: screenshotPath('payment-standard-payment-developer'), fullPage: true });
      await developer.context().close();
    },
    longFlow,
  );

  it(
    "needs a note to reject, shows the reviewer's note to the MP administrator, and takes a re-application",
    async () => {
      const admin = demo.miniProgramTeam.users.admin;
      const adminApi = await ConsoleClient.signIn(server.context.app, admin.account, admin.password);
      const created = await adminApi.post(`/teams/${demo.miniProgramTeam.teamId}/mini-programs`, { name: 'Demo Tea', category: 'Food' });
      expect(created.statusCode).toBe(201);
      const tea = (created.body as { mnpId: string }).mnpId;

      const mpAdmin = await signIn(admin);
      await openPage(mpAdmin, 'Standard payment');
      const row = miniProgramRow(mpAdmin, 'Demo Tea');
      await requestPermission(mpAdmin, row, 'Request permission', 'Tea shop');

      const reviewer = await signIn(demo.superapp.users.reviewer);
      await openPage(reviewer, 'Approvals');
      const pending = approvalRow(reviewer, tea);
      await pending.getByRole('button', { name: 'Reject' }).click();
      const dialog = await settled(reviewer.getByRole('dialog', { name: 'Reject request' }));
      await dialog.getByRole('button', { name: 'Reject' }).click();
      await dialog.getByText('A rejection needs a note').waitFor();
      await dialog.getByLabel('Note').fill('   ');
      await dialog.getByRole('button', { name: 'Reject' }).click();
      await dialog.getByText('A rejection needs a note').waitFor();
      await reviewer.screenshot({ path: screenshotPath('payment-approvals-reject-needs-note') });
      const note = 'Please list the teas you sell and their prices';
      await dialog.getByLabel('Note').fill(note);
      await dialog.getByRole('button', { name: 'Reject' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await eventually(() => pending.count()).toBe(0);

      await mpAdmin.getByRole('button', { name: 'Refresh' }).click();
      await eventually(() => row.innerText()).toContain('Rejected');
      await eventually(() => row.getByTestId('reviewer-note').innerText()).toBe(`Reviewer's note: ${note}`);
      await mpAdmin.screenshot({ path: screenshotPath('payment-standard-payment-rejected'), fullPage: true });
      await requestPermission(mpAdmin, row, 'Re-apply', 'Green and black teas, 10 to 40 CNY');

      // The server's refusal shows in the dialog: here the request was decided elsewhere meanwhile.
      await reviewer.getByRole('button', { name: 'Refresh' }).click();
      await eventually(() => pending.innerText()).toContain('Green and black teas');
      await pending.getByRole('button', { name: 'Reject' }).click();
      await settled(dialog);
      const saAdmin = await ConsoleClient.signIn(server.context.app, demo.superapp.users.admin.account, demo.superapp.users.admin.password);
      const approvals = await saAdmin.get(`/superapps/${demo.superapp.applicationId}/approvals?approvalStatus=0&mnpId=${tea}`);
      const approvalNo = (approvals.body as { list: { approvalNo: string }[] }).list[0]!.approvalNo;
      const decided = await saAdmin.post(`/superapps/${demo.superapp.applicationId}/approvals/decide`, {
        approvalNo,
        approvalType: 10,
        approvalNote: 'Fine now',
      });
      expect(decided.statusCode).toBe(200);
      await dialog.getByLabel('Note').fill('Too late');
      await dialog.getByRole('button', { name: 'Reject' }).click();
      await dialog.getByRole('alert').getByText('This request was already processed').waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();

      // Review staff disable an approved mini program's payment; the team may apply again.
      await reviewer.getByRole('tab', { name: 'Decided' }).click();
      const decidedRow = approvalRow(reviewer, tea).filter({ hasText: 'Fine now' });
      await decidedRow.getByRole('button', { name: 'Disable payment' }).click();
      await (await settled(reviewer.getByRole('tooltip'))).getByRole('button', { name: 'OK' }).click();
      await eventually(() => decidedRow.innerText()).toContain('Disabled');
      await reviewer.screenshot({ path: screenshotPath('payment-approvals-decided'), fullPage: true });
      await reviewer.context().close();

      await mpAdmin.getByRole('button', { name: 'Refresh' }).click();
      await eventually(() => row.innerText()).toContain('Disabled');
      await row.getByRole('button', { name: 'Re-apply' }).waitFor();
      await mpAdmin.context().close();
    },
    longFlow,
  );

  it(
    'shows every superapp role the approvals, read-only unless it may decide',
    async () => {
      const developer = await signIn(demo.superapp.users.developer);
      await openPage(developer, 'Approvals');
      await developer.getByTestId('approvals-read-only').waitFor();
      await developer.getByRole('tab', { name: 'Decided' }).click();
      await eventually(() => approvalRow(developer, demo.miniPrograms.fresh.mnpId).innerText()).toContain('Approved');
      for (const action of ['Approve', 'Reject', 'Disable payment', 'Unbind'])
        expect(await developer.getByRole('button', { name: action }).count()).toBe(0);
      await developer.screenshot({ path: screenshotPath('payment-approvals-read-only'), fullPage: true });
      await developer.context().close();
    },
    longFlow,
  );

  it('loaded without script errors', () => {
    expect(scriptErrors).toEqual([]);
  });
});
