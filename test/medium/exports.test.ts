import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportService } from '../../src/services/records/export.service.ts';
import type { ConsoleClient } from '../helpers/console-client.ts';
import { signIn, snapshotDatabase } from '../helpers/factories.ts';
import { createPaymentWorld, expectCode, type PaymentWorld } from '../helpers/payment-world.ts';
import { insertOrder, insertRefund, type OrderOwner } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

const hour = 60 * 60 * 1000;
const now = Date.UTC(2026, 5, 15, 4, 0, 0);
const awkward = 'Tea, "large"\nwith milk — 中文 ü';

describeOnEachDatabase('exports (CSV and XLSX)', (kind) => {
  let context: TestContext;
  let world: PaymentWorld;
  let owner: OrderOwner;
  let operator: ConsoleClient;
  let developer: ConsoleClient;
  let folder: string;

  beforeAll(async () => {
    context = await createTestContext(kind);
    context.clock.set(now);
    world = await createPaymentWorld(context);
    owner = {
      mnpId: world.mnpId,
      applicationId: world.applicationId,
      miniProgramTeamId: world.teamId,
      superappTeamId: world.tenant.superappTeamId,
    };
    const db = context.database.db;
    await insertOrder(db, owner, {
      createdAt: now - 7 * hour,
      description: awkward,
      amount: 1234,
      mchid: '0019000001',
      outTradeNo: '-ABC',
    });
    await insertOrder(db, owner, {
      createdAt: now - 6 * hour,
      description: '=HYPERLINK("http://evil.example","x")',
      amount: 5,
      currency: 'JPY',
      outTradeNo: '@order',
    });
    await insertOrder(db, owner, {
      createdAt: now - 5 * hour,
      description: '+cmd|/C calc',
      amount: 1234,
      currency: 'KWD',
      tradeState: 'WAIT_PAY',
    });
    const refunded = await insertOrder(db, owner, {
      createdAt: now - 4 * hour,
      description: '-5 plain',
      amount: 9999,
      tradeState: 'REFUND',
      refundSucceeded: 1000,
    });
    await insertRefund(db, refunded, { createdAt: now - 3 * hour, amount: 1000, reason: '@reason, with "quotes"' });
    await insertRefund(db, refunded, { createdAt: now - 2 * hour, amount: 500, status: 'PROCESSING', reason: null });
    await insertOrder(db, owner, { createdAt: now - hour, description: 'Closed one', tradeState: 'CLOSED' });
    operator = await signIn(context, world.tenant.members['mp:operator']);
    developer = await signIn(context, world.tenant.members['mp:developer']);
    folder = mkdtempSync(path.join(tmpdir(), 'paythrough-exports-test-'));
  });
  afterAll(async () => {
    for (const job of await context.database.db.selectFrom('export_jobs').select(['id', 'format']).execute()) {
      rmSync(path.join(context.services.exports.folder, `${job.id}.${job.format}`), { force: true });
    }
    rmSync(folder, { recursive: true, force: true });
    await context?.close();
  });

  async function download(client: ConsoleClient, id: string) {
    return context.app.inject({ method: 'GET', url: `/api/v1/exports/${id}/file`, headers: { cookie: client.cookieHeader } });
  }

  it('writes CSV in UTF-8 with a BOM and CRLF, major-unit amounts, IDs as text and formulas neutralised', async () => {
    const created = await operator.post('/orders/exports', {
      format: 'csv',
      mnpIds: [world.mnpId],
      tradeStates: ['SUCCESS', 'REFUND', 'WAIT_PAY'],
    });
    expect(created.statusCode).toBe(201);
    expect(created.body).toMatchObject({ status: 'done', progress: 100, rowsWritten: 4, format: 'csv' });
    const response = await download(operator, created.body.id);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toMatch(/^attachment; filename="orders-\d{8}-\d{6}\.csv"$/);
    const bytes = response.rawPayload;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    // The one embedded newline is inside its quoted field; every record ends with CRLF.
    expect(text).toContain('"Tea, ""large""\nwith milk — 中文 ü"');
    expect(text.replace('"Tea, ""large""\nwith milk — 中文 ü"', 'X').replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = text.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(
      'Mini program ID,Merchant ID,Merchant order no.,Transaction ID,Trade state,Description,Amount,Currency,' +
        'Refunded (processing and succeeded),Payer openid,Platform,Sandbox,Created (Asia/Shanghai),Paid (Asia/Shanghai)',
    );
    // A header and four records (one of them spans two lines inside its quotes).
    expect(lines.length - 2).toBe(4);
    // Newest first; the closed order is filtered out.
    expect(text).not.toContain('Closed one');
    const records = text.split('\r\n').slice(1, -1);
    expect(records[0]).toContain(",'-5 plain,99.99,CNY,15.00,");
    expect(records[1]).toContain(",'+cmd|/C calc,1.234,KWD,0.000,");
    expect(records[2]).toContain(',"\'=HYPERLINK(""http://evil.example"",""x"")",5,JPY,0,');
    expect(records[2]).toContain(",'@order,");
    // IDs made of digits end with a tab (kept as text by spreadsheets); others are neutralised like any text.
    expect(text).toContain(`${world.mnpId},0019000001\t,'-ABC,`);
    expect(records[0]).toMatch(/^mnp_[a-z0-9]+,1900000001\t,/);
    expect(text).toMatch(/,4200\d{26}\t,/);
    expect(text).toContain(',2026-06-15 05:00:00,2026-06-15 05:00:30');
  });

  it('writes XLSX with string IDs, numeric amounts in the currency’s decimals, neutralised text', async () => {
    const created = await operator.post('/orders/exports', {
      format: 'xlsx',
      mnpIds: [world.mnpId],
      tradeStates: ['SUCCESS', 'REFUND', 'WAIT_PAY'],
    });
    expect(created.body).toMatchObject({ status: 'done', rowsWritten: 4 });
    const response = await download(operator, created.body.id);
    expect(response.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    expect(workbook.worksheets.map((sheet) => sheet.name)).toEqual(['Orders']);
    const sheet = workbook.worksheets[0]!;
    expect(sheet.rowCount).toBe(5);
    const row = (n: number) => sheet.getRow(n);
    expect(row(1).getCell(1).value).toBe('Mini program ID');
    // Oldest last: row 5 is the first order.
    expect(row(5).getCell(2).value).toBe('0019000001');
    expect(row(5).getCell(2).type).toBe(ExcelJS.ValueType.String);
    expect(row(5).getCell(3).value).toBe("'-ABC");
    expect(row(5).getCell(6).value).toBe(awkward);
    expect(row(5).getCell(7).value).toBe(12.34);
    expect(row(5).getCell(7).numFmt).toBe('0.00');
    expect(row(4).getCell(6).value).toBe('\'=HYPERLINK("http://evil.example","x")');
    expect(row(4).getCell(6).type).toBe(ExcelJS.ValueType.String);
    expect(row(4).getCell(7).value).toBe(5);
    expect(row(4).getCell(7).numFmt).toBe('0');
    expect(row(3).getCell(7).value).toBe(1.234);
    expect(row(3).getCell(7).numFmt).toBe('0.000');
    expect(row(2).getCell(9).value).toBe(15);
    expect(String(row(2).getCell(4).value)).toMatch(/^4200\d{26}$/);
    expect(row(2).getCell(4).type).toBe(ExcelJS.ValueType.String);
  });

  it('exports refunds under the 12-month rule', async () => {
    const created = await operator.post('/refunds/exports', {
      format: 'csv',
      orderNo: undefined,
      createdFrom: now - 24 * hour,
      createdTo: now,
    });
    expect(created.body).toMatchObject({ status: 'done', rowsWritten: 2, kind: 'refunds' });
    const text = (await download(operator, created.body.id)).rawPayload.toString('utf8');
    expect(text).toContain(`,"'@reason, with ""quotes""",`);
    expect(text).toContain(',PROCESSING,5.00,99.99,CNY,,');
    const tooOld = await operator.post('/refunds/exports', { format: 'csv', createdFrom: now - 400 * 24 * hour, createdTo: now });
    expect(tooOld.statusCode).toBe(400);
    expect(tooOld.body.error.code).toBe('InvalidParameterValue.TimeRangeExceeded');
  });

  it('belongs to the user who asked: others get not found, also through the list', async () => {
    const created = await operator.post('/orders/exports', { format: 'csv' });
    expect((await developer.get(`/exports/${created.body.id}`)).statusCode).toBe(404);
    expect((await download(developer, created.body.id)).statusCode).toBe(404);
    expect((await developer.get('/exports')).body.items.map((item: { id: string }) => item.id)).not.toContain(created.body.id);
    expect((await operator.get('/exports')).body.items.map((item: { id: string }) => item.id)).toContain(created.body.id);
    const audit = await context.database.db
      .selectFrom('audit_log')
      .select(['action', 'target_id'])
      .where('target_type', '=', 'export')
      .execute();
    expect(audit.filter((entry) => entry.target_id === created.body.id).map((entry) => entry.action)).toEqual(['order.export']);
    expect(audit.some((entry) => entry.action === 'export.download')).toBe(true);
  });

  const backgroundTitle =
    'runs large exports in the background with progress, takes over a dead worker’s job, ' + 'splits XLSX sheets, expires after 24 hours';
  it(backgroundTitle, async () => {
    const exports = new ExportService(
      context.database.db,
      context.clock,
      context.config,
      { orders: context.services.orderRecords, refunds: context.services.refundRecords },
      { folder, inlineRowLimit: 2, batchSize: 2, xlsxRowsPerSheet: 2 },
    );
    const actor = world.as['mp:operator'];
    const queued = await exports.create(actor, { kind: 'orders', format: 'xlsx', query: { mnpIds: [world.mnpId] } });
    expect(queued).toMatchObject({ status: 'queued', progress: 0 });
    await expectCode(exports.get(world.as['mp:developer'], queued.id), 'ResourceNotFound');
    // A worker that claimed the job and died: its lease runs out and another worker takes over.
    await context.database.db
      .updateTable('export_jobs')
      .set({ status: 'running', claimed_by: 'dead', claim_token: 'dead', claim_expires_at: now - 1 })
      .where('id', '=', queued.id)
      .execute();
    expect(await exports.runNext()).toBe(true);
    expect(await exports.runNext()).toBe(false);
    const done = await exports.get(actor, queued.id);
    expect(done).toMatchObject({ status: 'done', progress: 100, totalRows: 5, rowsWritten: 5 });
    const file = await exports.openFile(actor, queued.id);
    file.stream.destroy();
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(path.join(folder, `${queued.id}.xlsx`));
    expect(workbook.worksheets.map((sheet) => [sheet.name, sheet.rowCount])).toEqual([
      ['Orders', 3],
      ['Orders (2)', 3],
      ['Orders (3)', 2],
    ]);

    context.clock.advance(24 * hour + 1);
    try {
      await expectCode(exports.openFile(actor, queued.id), 'ResourceNotFound');
      // Every export of this database is past its 24 hours now (the other tests' too).
      expect(await exports.purgeExpired()).toBeGreaterThanOrEqual(1);
      expect(existsSync(path.join(folder, `${queued.id}.xlsx`))).toBe(false);
      expect((await exports.get(actor, queued.id)).status).toBe('expired');
    } finally {
      context.clock.set(now);
    }
  });

  // Runs after the tests above: the orders it adds would change their counts.
  it('writes order CSVs through the driver (COPY on PostgreSQL, raw rows on SQLite) byte for byte as the row-by-row writer', async () => {
    const db = context.database.db;
    const texts = [
      '',
      ' ',
      '\r\nstarts with CRLF',
      '\tTab first',
      'ends with LF\n',
      '"',
      '""',
      ',',
      '\\.',
      'a\\.b',
      '=1',
      '+',
      '-',
      '@',
      '中文 ü 😀',
      'ends with a quote"',
      'multi\n\nline "q" ,',
      "it's",
      'x'.repeat(300),
    ];
    const currencies = ['CNY', 'JPY', 'KWD', 'USD'];
    const states = ['SUCCESS', 'REFUND', 'WAIT_PAY', 'PAY_ERROR', 'CLOSED'] as const;
    for (const [index, description] of texts.entries()) {
      const currency = currencies[index % currencies.length]!;
      const order = await insertOrder(db, owner, {
        createdAt: now - 30 * hour + index * 60_000 + 999,
        description,
        amount: [1, 7, 10, 100, 1_000_000_000, 12345][index % 6]!,
        currency,
        tradeState: states[index % states.length]!,
        outTradeNo: ['000123', '=x', '-1', `T,${index}`, `"${index}"`, `${index}\n`][index % 6]! + (index >= 6 ? `-${index}` : ''),
        transactionId: index % 3 === 0 ? null : `00${index}4200`,
        mchid: index % 2 ? `00${index}` : `m@${index}`,
        payer: ['12345', '@p', '', 'ö,"x"'][index % 4]!,
        clientPlatform: index % 4,
        sandbox: index % 2,
      });
      // Refunds only on refunded orders, as the gateway leaves them (the writers count no others).
      if (order.trade_state === 'REFUND')
        await insertRefund(db, order, {
          createdAt: now - 20 * hour,
          amount: 1,
          status: (['SUCCESS', 'PROCESSING', 'CLOSED', 'ABNORMAL'] as const)[index % 4]!,
        });
      if (index % 10 === 1) await insertRefund(db, order, { createdAt: now - 19 * hour, amount: 1, status: 'PROCESSING' });
    }
    const options = { folder, inlineRowLimit: 1, batchSize: 3 };
    const services = { orders: context.services.orderRecords, refunds: context.services.refundRecords };
    const fast = new ExportService(db, context.clock, context.config, services, options);
    const rowByRow = new ExportService(db, context.clock, context.config, services, { ...options, fastCsv: false });
    const exportBytes = async (
      exports: ExportService,
      actor: (typeof world.as)['mp:operator'],
      query: Parameters<ExportService['create']>[1]['query'],
    ) => {
      const job = await exports.create(actor, { kind: 'orders', format: 'csv', query });
      // At most one row is written during the request; more by the worker.
      while (await exports.runNext());
      const done = await exports.get(actor, job.id);
      expect(done.status).toBe('done');
      return { bytes: readFileSync(path.join(folder, `${job.id}.csv`)), rows: done.rowsWritten, progress: done.progress };
    };
    // One part; three parts merged (one per state); a superapp operator's reach; a filter that matches nothing.
    for (const [actor, query, rows] of [
      [world.as['mp:operator'], { mnpIds: [world.mnpId] }, texts.length + 5],
      [world.as['mp:operator'], { tradeStates: ['SUCCESS', 'REFUND', 'WAIT_PAY'] as const }, 12 + 4],
      [world.as['sa:operator'], { createdFrom: now - 31 * hour, createdTo: now - 10 * hour, outTradeNo: '=x' }, 1],
      [world.as['mp:operator'], { outTradeNo: "it's not there" }, 0],
      // Oldest first: the list's order, which the file follows.
      [world.as['mp:operator'], { mnpIds: [world.mnpId], sort: 'oldest' }, texts.length + 5],
      [world.as['mp:operator'], { tradeStates: ['SUCCESS', 'REFUND', 'WAIT_PAY'] as const, sort: 'oldest' }, 12 + 4],
    ] as const) {
      const expected = await exportBytes(rowByRow, actor, query);
      const actual = await exportBytes(fast, actor, query);
      expect(expected.rows).toBe(rows);
      expect(actual.rows).toBe(rows);
      expect(actual.progress).toBe(100);
      expect(actual.bytes.toString('utf8')).toBe(expected.bytes.toString('utf8'));
      expect(actual.bytes.equals(expected.bytes)).toBe(true);
    }
    // The two orders hold the same records, the other way round (the header line aside).
    const records = (bytes: Buffer) =>
      bytes
        .toString('utf8')
        .split(/\r\n(?=[^\r\n]*mnp)/)
        .slice(1);
    const newest = records((await exportBytes(fast, world.as['mp:operator'], { mnpIds: [world.mnpId] })).bytes);
    const oldest = records((await exportBytes(fast, world.as['mp:operator'], { mnpIds: [world.mnpId], sort: 'oldest' })).bytes);
    expect(newest).toHaveLength(texts.length + 5);
    expect(oldest.map((record) => record.replace(/\r\n$/, ''))).toEqual(newest.map((record) => record.replace(/\r\n$/, '')).reverse());
  });

  it('never writes a file for a filter the caller may not use', async () => {
    const before = await context.database.db.selectFrom('export_jobs').select('id').execute();
    await expectCode(
      context.services.exports.create(world.reviewer, { kind: 'orders', format: 'csv', query: {} }),
      'UnauthorizedOperation',
    );
    await expectCode(
      context.services.exports.create(world.second.administrator, { kind: 'orders', format: 'csv', query: { mnpIds: [world.mnpId] } }),
      'ResourceNotFound',
    );
    await expectCode(
      context.services.exports.create(world.mpAdmin, { kind: 'orders', format: 'csv', query: { amountMin: 1 } }),
      'InvalidParameterValue.TimeRangeExceeded',
    );
    expect(await context.database.db.selectFrom('export_jobs').select('id').execute()).toEqual(before);
  });

  // Last: these leave jobs queued for the workers of other tests to find, until each test drains them.
  describe('per user: one export running and three waiting, the rest refused', () => {
    const limitTests = () =>
      new ExportService(
        context.database.db,
        context.clock,
        context.config,
        { orders: context.services.orderRecords, refunds: context.services.refundRecords },
        // Every export with a row is left to the worker, so the jobs stay unfinished until it runs.
        { folder, inlineRowLimit: 0, batchSize: 50 },
      );
    const orders = { kind: 'orders', format: 'xlsx', query: { mnpIds: [] as string[] } } as const;
    const request = () => ({ ...orders, query: { mnpIds: [world.mnpId] } });
    const unfinishedOf = async (actor: (typeof world.as)['mp:operator']) =>
      (
        await context.database.db
          .selectFrom('export_jobs')
          .select('id')
          .where('user_id', '=', actor.userId!)
          .where('status', 'in', ['queued', 'running'])
          .execute()
      ).length;

    it('refuses a fifth unfinished export with RequestLimitExceeded saying how many are pending, changing nothing', async () => {
      const exports = limitTests();
      const actor = world.as['mp:senior_developer'];
      for (let i = 0; i < 4; i++) expect((await exports.create(actor, request())).status).toBe('queued');
      const before = await snapshotDatabase(context.database.db);
      const refused = await expectCode(exports.create(actor, request()), 'RequestLimitExceeded');
      expect(refused.message).toMatch(/4 exports .*(queued|running)/);
      expect(refused.details).toMatchObject({ pending: 4, limit: 4 });
      expect(await snapshotDatabase(context.database.db)).toEqual(before);
      // Someone else is not limited by it.
      expect((await exports.create(world.as['sa:developer'], request())).status).toBe('queued');
      // One finished: room for one more.
      expect(await exports.runNext()).toBe(true);
      expect((await exports.create(actor, request())).status).toBe('queued');
      await expectCode(exports.create(actor, request()), 'RequestLimitExceeded');
      while (await exports.runNext());
      expect(await unfinishedOf(actor)).toBe(0);
    });

    it('holds under concurrent requests: of 12 at once, exactly 4 are accepted', async () => {
      const exports = limitTests();
      const actor = world.as['mp:senior_developer'];
      const outcomes = await Promise.allSettled(Array.from({ length: 12 }, () => exports.create(actor, request())));
      const accepted = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as { code?: string }] : []));
      expect(accepted).toHaveLength(4);
      expect(refused.map((error) => error.code)).toEqual(Array.from({ length: 8 }, () => 'RequestLimitExceeded'));
      expect(await unfinishedOf(actor)).toBe(4);
      while (await exports.runNext());
    });

    it('runs one export per user at a time: a second one waits (also a small one), other users’ jobs go ahead', async () => {
      const exports = limitTests();
      const actor = world.as['mp:senior_developer'];
      const first = await exports.create(actor, request());
      const second = await exports.create(actor, request());
      const someoneElse = await exports.create(world.as['sa:developer'], request());
      // A worker on another instance holds the first one.
      await context.database.db
        .updateTable('export_jobs')
        .set({ status: 'running', claimed_by: 'elsewhere', claim_token: 'elsewhere', claim_expires_at: context.clock.nowMs() + 60_000 })
        .where('id', '=', first.id)
        .execute();
      // A small export, otherwise written during the request, waits its turn too.
      const small = await context.services.exports.create(actor, { kind: 'orders', format: 'csv', query: { outTradeNo: '-ABC' } });
      expect(small.status).toBe('queued');
      expect(await exports.runNext()).toBe(true);
      expect((await exports.get(world.as['sa:developer'], someoneElse.id)).status).toBe('done');
      expect(await exports.runNext()).toBe(false);
      expect((await exports.get(actor, second.id)).status).toBe('queued');
      // Once the first is done, the next one of that user runs.
      await context.database.db
        .updateTable('export_jobs')
        .set({ status: 'failed', claim_token: null })
        .where('id', '=', first.id)
        .execute();
      while (await exports.runNext());
      expect((await exports.get(actor, second.id)).status).toBe('done');
      expect((await exports.get(actor, small.id)).status).toBe('done');
    });

    it('the console answers a refused export in its error shape (429 RequestLimitExceeded)', async () => {
      const exports = limitTests();
      const member = world.tenant.members['sa:senior_developer'];
      for (let i = 0; i < 4; i++) await exports.create(world.as['sa:senior_developer'], request());
      const client = await signIn(context, member);
      const response = await client.post('/orders/exports', { format: 'csv', mnpIds: [world.mnpId] });
      expect(response.statusCode).toBe(429);
      expect(response.body).toEqual({
        error: { code: 'RequestLimitExceeded', message: expect.stringMatching(/4 exports/), details: { pending: 4, limit: 4 } },
      });
      while (await exports.runNext());
    });
  });
});
