import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ChannelResult } from '../../src/channels/channel.ts';
import { isInvalidStatementPage, maxStatementAnswerBytes } from '../../src/channels/http/statement-call.ts';
import { channelProtocolPaths } from '../../src/channels/protocol.ts';
import {
  maxStatementPageLines,
  statementLineToWire,
  type StatementLine,
  type StatementPage,
  type StatementQuery,
} from '../../src/channels/statement.ts';
import type { Actor } from '../../src/domain/access.ts';
import { AppError } from '../../src/domain/errors.ts';
import type { StatementSource } from '../../src/services/payments/index.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';
import { demoActor } from '../helpers/gateway-client.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';
import { FakeChannelServer } from '../reliability/fake-channel-server.ts';

const channelKey = 'statement-channel-key-0123456789abcdefgh';
const newChannelKey = 'statement-channel-key-2-0123456789abcdef';
const from = Date.UTC(2026, 0, 14, 16);
const to = Date.UTC(2026, 0, 15, 16);

const paymentLine = (index: number, time = from + index * 1000): StatementLine => ({
  type: 'PAYMENT',
  merchantId: '1900000001',
  outTradeNo: `ST${String(index).padStart(10, '0')}`,
  channelOrderId: `FCO${String(index).padStart(12, '0')}`,
  prepayId: `wx${String(index).padStart(30, '0')}`,
  channelTransactionId: `FCT${String(index).padStart(24, '0')}`,
  amount: { total: 1000 + index, currency: 'CNY' },
  state: 'SUCCESS',
  time,
});

const refundLine = (index: number, state: 'SUCCESS' | 'CLOSED'): StatementLine => ({
  type: 'REFUND',
  merchantId: '1900000001',
  outTradeNo: `ST${String(index).padStart(10, '0')}`,
  channelTransactionId: `FCT${String(index).padStart(24, '0')}`,
  outRefundNo: `RF${index}`,
  channelRefundId: `FCR${index}`,
  amount: { refund: 300, total: 1000 + index, currency: 'CNY' },
  state,
  time: from + 3_600_000 + index,
});

function page(result: ChannelResult<StatementPage>): StatementPage {
  if (result.outcome !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.value;
}

function channelOf(source: StatementSource) {
  if (!source.available) throw new Error(`expected a statement source, got ${source.message}`);
  return source.channel;
}

/**
 * SPEC §9.1: Paythrough reads a day's statement from the superapp's HTTP channel (`/v1/statements/query`, signed both
 * ways) and from a host-reported superapp's statement URL (signed with the host key); the payment configuration says
 * whether there is one to read (`statements_supported`, the statement URL), and every fault has its outcome.
 */
describeOnEachDatabase('channel statements', (kind) => {
  let context: TestContext;
  let saAdmin: Actor;
  let applicationId: string;
  let server: FakeChannelServer;
  let connectionId: number;
  const query = (overrides: Partial<StatementQuery> = {}): StatementQuery => ({
    applicationId,
    billDate: '2026-01-15',
    fromTime: from,
    toTime: to,
    cursor: null,
    limit: 2,
    ...overrides,
  });
  const statementChannel = async (id = connectionId) =>
    channelOf(await context.services.gatewayChannels.statementSourceFor(applicationId, id));

  beforeAll(async () => {
    context = await createTestContext(kind, { config: { allowPrivateTargets: ['127.0.0.1/32'] }, backgroundJobs: false });
    const manifest = await context.services.demoWorld.ensure();
    applicationId = manifest.superapp.applicationId;
    saAdmin = await demoActor(context, manifest.superapp.users.admin.account);
    // The channel's HTTPS server answers as the fixture host name on 127.0.0.1, under the fixture CA.
    context.services.gatewayChannels.configureConnector({
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
      tls: { ca: tlsFixtures.caPem },
      timeoutMs: 2_000,
      statementTimeoutMs: 1_000,
    });
    server = await new FakeChannelServer(channelKey, context.clock, {
      keyPem: tlsFixtures.serverKeyPem,
      certPem: tlsFixtures.serverCertPem,
      hostname: tlsFixtures.hostname,
    }).start();
    const view = await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'http', baseUrl: `${server.url}/paythrough`, secret: channelKey },
    });
    connectionId = view.channelConnectionId!;
  });
  afterAll(async () => {
    await server?.stop();
    await context?.close();
  });
  beforeEach(() => {
    server.clearFaults();
    server.statementFault = undefined;
    server.answerKey = undefined;
    server.statementPath = `/paythrough${channelProtocolPaths.queryStatement}`;
    server.statementLines = [paymentLine(1), paymentLine(2), refundLine(1, 'SUCCESS'), paymentLine(9, to)];
  });

  it('a new HTTP channel serves statements by default; switched off, its connection has NO_STATEMENT', async () => {
    expect((await context.services.paymentConfig.get(saAdmin, applicationId)).statementsSupported).toBe(true);
    const off = await context.services.paymentConfig.update(saAdmin, applicationId, { statementsSupported: false });
    expect(off).toMatchObject({ statementsSupported: false, channelConnectionId: connectionId });
    expect(await context.services.gatewayChannels.statementSourceFor(applicationId, connectionId)).toMatchObject({
      available: false,
      reason: 'NO_STATEMENT',
      message: expect.stringMatching(/statements_supported/),
    });
    // Saving the same channel again keeps the switch as it is.
    await context.services.paymentConfig.update(saAdmin, applicationId, { channel: { kind: 'http', baseUrl: `${server.url}/paythrough` } });
    expect((await context.services.paymentConfig.get(saAdmin, applicationId)).statementsSupported).toBe(false);
    await context.services.paymentConfig.update(saAdmin, applicationId, { statementsSupported: true });
    expect((await statementChannel()).kind).toBe('http');
    // Another superapp's connection is not this superapp's.
    expect(await context.services.gatewayChannels.statementSourceFor('app_someone_else', connectionId)).toMatchObject({ available: false });
  });

  it('reads a day page by page over signed HTTP: the day only, the whole day summary on every page', async () => {
    const channel = await statementChannel();
    const first = page(await channel.queryStatement(query()));
    expect(first).toMatchObject({ applicationId, billDate: '2026-01-15', statementId: 'FCS-1', nextCursor: '2' });
    expect(first.lines).toEqual(server.statementLines.slice(0, 2));
    expect(first.summary).toEqual([{ currency: 'CNY', paymentCount: 2, paymentAmount: 2003n, refundCount: 1, refundAmount: 300n }]);
    const second = page(await channel.queryStatement(query({ cursor: '2' })));
    expect(second.lines).toEqual([server.statementLines[2]]);
    expect(second.nextCursor).toBeNull();
    expect(second.summary).toEqual(first.summary);
    // The channel received the protocol's body (the fake refuses unsigned requests with SIGN_ERROR).
    const asked = server.requests.filter((request) => request.path === server.statementPath).map((request) => request.body);
    expect(asked.slice(-2)).toEqual([
      {
        application_id: applicationId,
        bill_date: '2026-01-15',
        from_time: '2026-01-14T16:00:00.000Z',
        to_time: '2026-01-15T16:00:00.000Z',
        cursor: null,
        limit: 2,
      },
      expect.objectContaining({ cursor: '2' }),
    ]);
  });

  it('a full page of 5,000 lines fits the answer limit; the limit stays bounded', async () => {
    server.statementLines = Array.from({ length: maxStatementPageLines }, (_, index) => paymentLine(index + 1, from + index));
    const bytes = Buffer.byteLength(JSON.stringify({ lines: server.statementLines.map(statementLineToWire) }));
    expect(bytes).toBeLessThan(maxStatementAnswerBytes);
    expect(maxStatementAnswerBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    const full = page(await (await statementChannel()).queryStatement(query({ limit: maxStatementPageLines })));
    expect(full.lines).toHaveLength(maxStatementPageLines);
    expect(full.nextCursor).toBeNull();
    // Past the limit the answer is not read to its end: unknown, asked again later.
    server.statementFault = 'oversized';
    server.oversizedBytes = maxStatementAnswerBytes;
    expect(await (await statementChannel()).queryStatement(query())).toMatchObject({
      outcome: 'unknown',
      reason: expect.stringMatching(/^oversized/),
    });
  });

  it('not ready and not supported are refusals; 5xx, a timeout, a bad signature and garbage are unknown', async () => {
    const channel = await statementChannel();
    server.statementFault = 'notReady';
    expect(await channel.queryStatement(query())).toMatchObject({ outcome: 'rejected', code: 'STATEMENT_NOT_READY' });
    server.statementFault = 'notSupported';
    expect(await channel.queryStatement(query())).toMatchObject({ outcome: 'rejected', code: 'NOT_SUPPORTED' });
    server.statementFault = undefined;
    for (const [mode, reason] of [
      ['error5xx', /HTTP 503/],
      ['timeout', /^timeout/],
      ['badSignature', /not authentic/],
      ['garbage', /not JSON/],
      ['truncated', /not JSON/],
      ['forgedRefusal', /not authentic/],
    ] as const) {
      server.inject({ mode, applied: true, path: server.statementPath });
      const result = await channel.queryStatement(query());
      expect(result, mode).toMatchObject({ outcome: 'unknown', reason: expect.stringMatching(reason) });
    }
    expect(page(await channel.queryStatement(query())).lines).toHaveLength(2);
  });

  it('a page breaking the protocol is refused as invalid: more lines than limit, another day, another superapp', async () => {
    const channel = await statementChannel();
    for (const [fault, message] of [
      ['extraLine', /more than the limit 2/],
      ['otherBillDate', /for 2001-01-01, not 2026-01-15/],
      ['otherApplication', /for superapp/],
    ] as const) {
      server.statementFault = fault;
      const result = await channel.queryStatement(query());
      expect(result, fault).toMatchObject({ outcome: 'rejected', code: 'INVALID_REQUEST', message: expect.stringMatching(message) });
      expect(isInvalidStatementPage(result)).toBe(true);
    }
    server.statementFault = 'notReady';
    expect(isInvalidStatementPage(await channel.queryStatement(query()))).toBe(false);
  });

  it('answers signed with the replaced channel key count during the overlap only', async () => {
    await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'http', baseUrl: `${server.url}/paythrough`, secret: newChannelKey },
    });
    server.channelKey = newChannelKey;
    server.answerKey = channelKey;
    expect(page(await (await statementChannel()).queryStatement(query())).lines).toHaveLength(2);
    context.clock.advance(context.config.keyOverlapHours * 3_600_000 + 1000);
    expect(await (await statementChannel()).queryStatement(query())).toMatchObject({
      outcome: 'unknown',
      reason: expect.stringMatching(/not authentic/),
    });
  });

  it('host-reported: the statement URL is asked with the host key both ways; none set is NOT_SUPPORTED and NO_STATEMENT', async () => {
    const webhookUrl = `${server.url}/host/refund-webhook`;
    const statementUrl = `${server.url}/host/statements`;
    const view = await context.services.paymentConfig.update(saAdmin, applicationId, {
      channel: { kind: 'host_reported', webhookUrl },
      statementUrl,
    });
    expect(view).toMatchObject({ channelKind: 'host_reported', statementUrl, channelSettings: { webhookUrl } });
    const hostConnection = view.channelConnectionId!;
    const firstHostKey = (await context.services.hostKeys.rotate(saAdmin, applicationId)).hostKey;
    server.channelKey = firstHostKey;
    server.statementPath = '/host/statements';
    const channel = await statementChannel(hostConnection);
    expect(channel.kind).toBe('host_reported');
    const read = page(await channel.queryStatement(query()));
    expect(read.lines).toEqual(server.statementLines.slice(0, 2));

    // A new host key signs at once (the host verifies with it); the host's answers under the old one count during the overlap.
    const secondHostKey = (await context.services.hostKeys.rotate(saAdmin, applicationId)).hostKey;
    server.channelKey = secondHostKey;
    server.answerKey = firstHostKey;
    expect(page(await channel.queryStatement(query())).lines).toHaveLength(2);
    server.answerKey = 'not-the-host-key-0123456789abcdefghijklm';
    expect(await channel.queryStatement(query())).toMatchObject({ outcome: 'unknown', reason: expect.stringMatching(/not authentic/) });
    // A request signed with a key the host does not hold is refused by the host, signed: a refusal.
    server.answerKey = undefined;
    server.channelKey = firstHostKey;
    server.answerKey = secondHostKey;
    expect(await channel.queryStatement(query())).toMatchObject({ outcome: 'rejected', code: 'SIGN_ERROR' });
    server.channelKey = secondHostKey;
    server.answerKey = undefined;
    server.statementFault = 'extraLine';
    expect(isInvalidStatementPage(await channel.queryStatement(query()))).toBe(true);
    server.statementFault = 'notReady';
    expect(await channel.queryStatement(query())).toMatchObject({ outcome: 'rejected', code: 'STATEMENT_NOT_READY' });

    // The previous HTTP connection still serves its statement (its switch is on), through its own base URL.
    expect((await statementChannel(connectionId)).kind).toBe('http');

    await context.services.paymentConfig.update(saAdmin, applicationId, { statementUrl: null });
    expect(await context.services.gatewayChannels.statementSourceFor(applicationId, hostConnection)).toMatchObject({
      available: false,
      reason: 'NO_STATEMENT',
      message: expect.stringMatching(/statement URL/),
    });
    expect(await channel.queryStatement(query())).toMatchObject({ outcome: 'rejected', code: 'NOT_SUPPORTED' });
  });

  it('the statement URL follows the refund webhook rules: https, no credentials', async () => {
    for (const statementUrl of ['http://host.example/statements', 'https://user:pw@host.example/statements', 'not a url']) {
      const refused = await context.services.paymentConfig
        .update(saAdmin, applicationId, { statementUrl })
        .catch((error: unknown) => error);
      expect(refused, statementUrl).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ code: 'InvalidParameterValue', details: { field: 'statementUrl' } });
    }
  });
});
