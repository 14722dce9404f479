import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconciliationExceptionKind, ReconciliationStatus } from '../../src/db/reconciliation-schema.ts';
import { addCalendarDays, businessDateOf, businessTimeOn } from '../../src/domain/business-time.ts';
import { bearerTokenMatches } from '../../src/routes/metrics/metrics.routes.ts';
import { signatureFailureLimit } from '../../src/services/auth/index.ts';
import { createPlatform, createUser, signIn, type Platform } from '../helpers/factories.ts';
import { parsePrometheusText, sampleValue, type Exposition } from '../helpers/prometheus-text.ts';
import { insertOrder, insertRefund, type OrderOwner } from '../helpers/record-factory.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

/**
 * `GET /metrics` (SPEC §7, docs/OPERATIONS.md#monitoring): off (404) without PAYTHROUGH_METRICS_TOKEN,
 * 401 without the right bearer token, otherwise Prometheus text with request counts and latency per
 * surface, process metrics, and the database gauges (outbox backlog, stuck refunds, reconciler lag,
 * exports) taken from a snapshot cached 5 s. Label values stay bounded whatever URLs clients send.
 */

const token = 'metrics-test-token-0123456789abcdef';
const minute = 60_000;
const owner: OrderOwner = {
  mnpId: 'mnp-metrics',
  applicationId: 'app-metrics',
  miniProgramTeamId: 'team-mp-metrics',
  superappTeamId: 'team-sa-metrics',
};

describe('bearer token comparison', () => {
  it('accepts exactly "Bearer <token>" (scheme in any case), nothing else', () => {
    expect(bearerTokenMatches(`Bearer ${token}`, token)).toBe(true);
    expect(bearerTokenMatches(`bearer ${token}`, token)).toBe(true);
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      token,
      `Basic ${token}`,
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token} extra`,
      `Bearer ${token.toUpperCase()}`,
      `Bearer  ${token}\n`,
    ]) {
      expect(bearerTokenMatches(header, token), String(header)).toBe(false);
    }
  });
});

describeOnEachDatabase('/metrics (SPEC §7)', (kind) => {
  describe('without PAYTHROUGH_METRICS_TOKEN', () => {
    let context: TestContext;
    beforeAll(async () => {
      context = await createTestContext(kind);
    });
    afterAll(() => context?.close());

    it('is off: 404 in JSON whatever the Authorization, and nothing is collected', async () => {
      for (const authorization of [undefined, `Bearer ${token}`, 'Bearer anything-at-all-here']) {
        const response = await context.app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
        expect(response.statusCode).toBe(404);
        expect(response.json()).toEqual({
          error: { code: 'ResourceNotFound', message: expect.stringMatching(/PAYTHROUGH_METRICS_TOKEN/) },
        });
        expect(response.body).not.toMatch(/paythrough_|process_cpu/);
      }
      expect(context.app.metricsRegistry).toBeNull();
    });
  });

  describe('wrong tokens count as failures per client address (PAYTHROUGH_SIGNATURE_FAILURE_LIMIT)', () => {
    const failures = 3;
    let context: TestContext;
    beforeAll(async () => {
      context = await createTestContext(kind, { config: { metricsToken: token, signatureFailureLimit: failures } });
    });
    afterAll(() => context?.close());

    const scrapeFrom = (remoteAddress: string, authorization: string) =>
      context.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: { authorization } });

    it('past the limit an address gets 429 in /metrics’ JSON format, the right token included; another address still scrapes', async () => {
      const attacker = '203.0.113.60';
      for (let i = 0; i < failures; i++) expect((await scrapeFrom(attacker, `Bearer wrong-token-${i}-0123456789`)).statusCode).toBe(401);
      for (const authorization of [`Bearer ${token}`, 'Bearer wrong-token-again-0123456789']) {
        const blocked = await scrapeFrom(attacker, authorization);
        expect(blocked.statusCode).toBe(429);
        expect(blocked.headers['content-type']).toMatch(/^application\/json/);
        expect(blocked.headers['cache-control']).toBe('no-store');
        expect(blocked.json()).toEqual({ error: { code: 'RequestLimitExceeded', message: expect.stringMatching(/too many/i) } });
        expect(blocked.body).not.toMatch(/paythrough_|process_cpu|nodejs_/);
      }
      expect((await scrapeFrom('203.0.113.61', `Bearer ${token}`)).statusCode).toBe(200);
      // Right tokens never count: a busy scraper is not limited by its own scrapes.
      for (let i = 0; i < failures + 2; i++) expect((await scrapeFrom('203.0.113.62', `Bearer ${token}`)).statusCode).toBe(200);
      context.clock.advance(signatureFailureLimit.windowMs);
      expect((await scrapeFrom(attacker, `Bearer ${token}`)).statusCode).toBe(200);
    });

    it('the counters are /metrics’ own: failures there do not block the address on a signed surface, nor the reverse', async () => {
      const address = '203.0.113.63';
      for (let i = 0; i < failures; i++) expect((await scrapeFrom(address, 'Bearer nope-nope-nope-nope')).statusCode).toBe(401);
      expect((await scrapeFrom(address, `Bearer ${token}`)).statusCode).toBe(429);
      expect(await context.services.signatureFailures.isBlocked('v3', address)).toBe(false);
      for (let i = 0; i < failures; i++) await context.services.signatureFailures.recordFailure('v3', '203.0.113.64');
      expect((await scrapeFrom('203.0.113.64', `Bearer ${token}`)).statusCode).toBe(200);
      context.clock.advance(signatureFailureLimit.windowMs);
    });
  });

  describe('with a token', () => {
    let context: TestContext;
    let platform: Platform;

    beforeAll(async () => {
      context = await createTestContext(kind, { config: { metricsToken: token } });
      platform = await createPlatform(context);
    });
    afterAll(() => context?.close());

    /** One scrape; `fresh` first moves the clock past the snapshot cache. */
    async function scrape(options: { fresh?: boolean } = {}): Promise<Exposition> {
      if (options.fresh) context.clock.advance(5_001);
      const response = await context.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-store');
      return parsePrometheusText(response.body);
    }
    const gauge = (exposition: Exposition, name: string, labels: Record<string, string> = {}) => sampleValue(exposition, name, labels);
    const requests = (exposition: Exposition, labels: Record<string, string>) =>
      sampleValue(exposition, 'paythrough_http_requests_total', labels) ?? 0;

    it('refuses a missing or wrong bearer token with 401 in JSON and a WWW-Authenticate challenge, revealing no metric', async () => {
      const wrong = [
        undefined,
        '',
        `Basic ${Buffer.from(`prometheus:${token}`).toString('base64')}`,
        `Bearer ${token}0`,
        `Bearer ${token.slice(1)}`,
        `Bearer ${'x'.repeat(token.length)}`,
        'Bearer ',
        token,
        `Token ${token}`,
      ];
      for (const authorization of wrong) {
        const response = await context.app.inject({
          method: 'GET',
          url: '/metrics',
          headers: authorization === undefined ? {} : { authorization },
        });
        expect(response.statusCode, String(authorization)).toBe(401);
        expect(response.headers['www-authenticate']).toBe('Bearer realm="paythrough-metrics"');
        expect(response.json()).toEqual({ error: { code: 'AuthFailure', message: expect.any(String) } });
        expect(response.body).not.toMatch(/paythrough_|process_cpu|nodejs_/);
      }
    });

    it('answers Prometheus text: every line parses, every family has HELP and TYPE, process metrics included', async () => {
      const exposition = await scrape();
      for (const [name, type] of [
        ['paythrough_http_requests_total', 'counter'],
        ['paythrough_http_request_duration_seconds', 'histogram'],
        ['paythrough_database_up', 'gauge'],
        ['paythrough_outbox_pending_jobs', 'gauge'],
        ['paythrough_outbox_due_jobs', 'gauge'],
        ['paythrough_outbox_oldest_pending_age_seconds', 'gauge'],
        ['paythrough_outbox_delivery_lag_seconds', 'gauge'],
        ['paythrough_refunds_processing', 'gauge'],
        ['paythrough_refunds_stuck_processing', 'gauge'],
        ['paythrough_refunds_oldest_processing_age_seconds', 'gauge'],
        ['paythrough_orders_outcome_in_doubt', 'gauge'],
        ['paythrough_reconciler_lag_seconds', 'gauge'],
        ['paythrough_export_jobs', 'gauge'],
        ['paythrough_export_oldest_queued_age_seconds', 'gauge'],
        ['process_cpu_user_seconds_total', 'counter'],
        ['process_resident_memory_bytes', 'gauge'],
        ['nodejs_heap_size_used_bytes', 'gauge'],
        ['nodejs_eventloop_lag_seconds', 'gauge'],
      ]) {
        expect(exposition.types.get(name!), name).toBe(type);
        expect(exposition.help.get(name!), name).toMatch(/\w/);
      }
      expect(exposition.help.get('paythrough_refunds_stuck_processing')).toMatch(/more than 60 minutes/);
      expect(exposition.help.get('paythrough_reconciler_lag_seconds')).toMatch(/due time/);
      expect(gauge(exposition, 'paythrough_database_up')).toBe(1);
      // A fresh database: nothing waits.
      for (const name of [
        'paythrough_outbox_pending_jobs',
        'paythrough_outbox_oldest_pending_age_seconds',
        'paythrough_refunds_stuck_processing',
        'paythrough_reconciler_lag_seconds',
      ])
        expect(gauge(exposition, name), name).toBe(0);
    });

    it('counts requests and their latency by the surface of the matched route, method and status class', async () => {
      const before = await scrape();
      const unsigned = await context.app.inject({ method: 'GET', url: '/v3/certificates' });
      expect(unsigned.statusCode).toBe(401);
      const client = await signIn(context, platform.superAdmin);
      expect((await client.get('/session')).statusCode).toBe(200);
      expect((await client.get(`/users/${'0'.repeat(26)}`)).statusCode).toBeGreaterThanOrEqual(400);
      const management = await context.app.inject({ method: 'POST', url: '/', payload: {} });
      expect(management.statusCode).toBeLessThan(500);
      const after = await scrape();

      const gatewayRefused = { surface: 'gateway', method: 'GET', status_class: '4xx' };
      expect(requests(after, gatewayRefused) - requests(before, gatewayRefused)).toBe(1);
      const consoleRead = { surface: 'console', method: 'GET', status_class: '2xx' };
      expect(requests(after, consoleRead) - requests(before, consoleRead)).toBe(1);
      // The sign-in itself.
      const signInLabels = { surface: 'console', method: 'POST', status_class: '2xx' };
      expect(requests(after, signInLabels) - requests(before, signInLabels)).toBe(1);
      expect(requests(after, { surface: 'management', method: 'POST' })).toBeGreaterThan(
        requests(before, { surface: 'management', method: 'POST' }),
      );
      // The previous scrape is counted under its own surface.
      expect(requests(after, { surface: 'metrics', method: 'GET', status_class: '2xx' })).toBeGreaterThanOrEqual(1);
      // The latency histogram saw the same request, in a bucket no wider than the whole range.
      const latencyCount = sampleValue(after, 'paythrough_http_request_duration_seconds_count', gatewayRefused) ?? 0;
      expect(latencyCount - (sampleValue(before, 'paythrough_http_request_duration_seconds_count', gatewayRefused) ?? 0)).toBe(1);
      expect(sampleValue(after, 'paythrough_http_request_duration_seconds_bucket', { ...gatewayRefused, le: '+Inf' })).toBe(latencyCount);
      expect(sampleValue(after, 'paythrough_http_request_duration_seconds_sum', gatewayRefused)).toBeGreaterThan(0);
    });

    const boundedLabelsTitle =
      'keeps label values bounded: 100 made-up URLs add at most one label set per surface, ' + 'and no URL, id or account appears';
    it(boundedLabelsTitle, async () => {
      const labelSets = (exposition: Exposition) =>
        new Set(exposition.samples.filter((s) => s.name === 'paythrough_http_requests_total').map((s) => JSON.stringify(s.labels)));
      const unmatched = (exposition: Exposition) =>
        exposition.samples
          .filter((s) => s.name === 'paythrough_http_requests_total' && s.labels.surface === 'unmatched')
          .reduce((sum, s) => sum + s.value, 0);
      const first = await scrape();
      const before = labelSets(first);
      for (let index = 0; index < 100; index += 1) {
        const url = [`/made-up-${index}`, `/v3/made-up/${index}`, `/api/v1/made-up-${index}`, `/superapp/pay/made-up-${index}`][index % 4]!;
        const response = await context.app.inject({
          method: index % 5 === 0 ? 'POST' : 'GET',
          url: `${url}?mchid=${index}`,
          ...(index % 5 === 0 ? { payload: {} } : {}),
        });
        expect(response.statusCode, url).toBeLessThan(500);
      }
      const response = await context.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      const exposition = parsePrometheusText(response.body);
      const after = labelSets(exposition);
      // Every one of them was counted, none under a route of its own.
      expect(unmatched(exposition) - unmatched(first)).toBe(100);
      const added = [...after].filter((labels) => !before.has(labels)).map((labels) => JSON.parse(labels) as Record<string, string>);
      expect(added.length, JSON.stringify(added)).toBeLessThanOrEqual(8);
      for (const labels of added) expect(['unmatched', 'gateway', 'console', 'host', 'metrics']).toContain(labels.surface);
      expect(response.body).not.toMatch(/made-up|mchid/);
      expect(response.body).not.toContain(platform.superAdmin.account);
      expect(response.body).not.toContain(platform.superAdmin.id);
      for (const [name, value] of [...after].flatMap((labels) => Object.entries(JSON.parse(labels) as Record<string, string>))) {
        expect(['surface', 'method', 'status_class']).toContain(name);
        expect(value).toMatch(/^[a-z-]+$|^[A-Z]+$|^[1-5]xx$/);
      }
    });

    it('outbox: pending count, due count, the oldest pending job age and the delivery lag reflect the queued jobs', async () => {
      const start = context.clock.nowMs();
      const enqueue = (notBefore?: number) =>
        context.services.outbox.enqueue(context.database.db, {
          topic: 'metrics_test',
          payload: {},
          targetUrl: 'https://merchant.example/notify',
          sandbox: false,
          ...(notBefore ? { notBefore } : {}),
        });
      await enqueue();
      context.clock.advance(30_000);
      await enqueue();
      // Waiting for a retry an hour from now: pending, not due.
      await enqueue(start + 60 * minute);
      context.clock.advance(60_000);
      const exposition = await scrape({ fresh: true });
      const waited = (context.clock.nowMs() - start) / 1000;
      expect(gauge(exposition, 'paythrough_outbox_pending_jobs')).toBe(3);
      expect(gauge(exposition, 'paythrough_outbox_due_jobs')).toBe(2);
      expect(gauge(exposition, 'paythrough_outbox_oldest_pending_age_seconds')).toBeCloseTo(waited, 3);
      expect(gauge(exposition, 'paythrough_outbox_delivery_lag_seconds')).toBeCloseTo(waited, 3);

      // Delivered and failed jobs leave the backlog.
      await context.database.db
        .updateTable('outbox')
        .set({ status: 'delivered', next_attempt_at: null })
        .where('topic', '=', 'metrics_test')
        .where('created_at', '=', start)
        .execute();
      const later = await scrape({ fresh: true });
      expect(gauge(later, 'paythrough_outbox_pending_jobs')).toBe(2);
      expect(gauge(later, 'paythrough_outbox_due_jobs')).toBe(1);
      expect(gauge(later, 'paythrough_outbox_oldest_pending_age_seconds')).toBeCloseTo((context.clock.nowMs() - start - 30_000) / 1000, 3);
      await context.database.db
        .updateTable('outbox')
        .set({ status: 'failed', next_attempt_at: null })
        .where('topic', '=', 'metrics_test')
        .execute();
      const none = await scrape({ fresh: true });
      expect(gauge(none, 'paythrough_outbox_pending_jobs')).toBe(0);
      expect(gauge(none, 'paythrough_outbox_delivery_lag_seconds')).toBe(0);
    });

    it('a snapshot answers scrapes for 5 s, then the next scrape reads the database again', async () => {
      const first = await scrape({ fresh: true });
      await context.services.outbox.enqueue(context.database.db, { topic: 'metrics_cache', payload: {}, targetUrl: null, sandbox: false });
      context.clock.advance(4_000);
      const cached = await scrape();
      expect(gauge(cached, 'paythrough_outbox_pending_jobs')).toBe(gauge(first, 'paythrough_outbox_pending_jobs'));
      context.clock.advance(1_000);
      const next = await scrape();
      expect(gauge(next, 'paythrough_outbox_pending_jobs')).toBe(gauge(first, 'paythrough_outbox_pending_jobs')! + 1);
      await context.database.db.deleteFrom('outbox').where('topic', '=', 'metrics_cache').execute();
    });

    const processingRefundsTitle =
      'refunds: PROCESSING ones counted, those older than PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES as stuck, ' + 'with the oldest age';
    it(processingRefundsTitle, async () => {
      const now = context.clock.nowMs();
      const order = await insertOrder(context.database.db, owner, {
        createdAt: now - 5 * 60 * minute,
        tradeState: 'REFUND',
        amount: 1_000,
      });
      await insertRefund(context.database.db, order, { createdAt: now - 3 * 60 * minute, amount: 100, status: 'SUCCESS' });
      await insertRefund(context.database.db, order, { createdAt: now - 2 * 60 * minute, amount: 100, status: 'PROCESSING' });
      await insertRefund(context.database.db, order, { createdAt: now - 61 * minute, amount: 100, status: 'PROCESSING' });
      await insertRefund(context.database.db, order, { createdAt: now - 5 * minute, amount: 100, status: 'PROCESSING' });
      await insertRefund(context.database.db, order, { createdAt: now - 4 * 60 * minute, amount: 100, status: 'CLOSED' });
      const exposition = await scrape({ fresh: true });
      const elapsed = (context.clock.nowMs() - now) / 1000;
      expect(gauge(exposition, 'paythrough_refunds_processing')).toBe(3);
      expect(gauge(exposition, 'paythrough_refunds_stuck_processing')).toBe(2);
      expect(gauge(exposition, 'paythrough_refunds_oldest_processing_age_seconds')).toBeCloseTo(2 * 60 * 60 + elapsed, 3);
    });

    it('reconciler: orders with an outcome in doubt, and the lag of the most overdue check (orders and refunds)', async () => {
      const now = context.clock.nowMs();
      const inDoubt = async (operation: 'create' | 'close' | 'expire', reconcileAt: number) => {
        const order = await insertOrder(context.database.db, owner, { createdAt: now - 10 * minute, tradeState: 'WAIT_PAY' });
        await context.database.db
          .updateTable('orders')
          .set({ pending_operation: operation, reconcile_at: reconcileAt })
          .where('id', '=', order.id)
          .execute();
      };
      await inDoubt('close', now - 5 * minute);
      await inDoubt('create', now + 5 * minute);
      // A routine check of an unpaid order (no outcome in doubt) is not counted.
      const routine = await insertOrder(context.database.db, owner, { createdAt: now - 10 * minute, tradeState: 'WAIT_PAY' });
      await context.database.db
        .updateTable('orders')
        .set({ reconcile_at: now - 50 * minute })
        .where('id', '=', routine.id)
        .execute();
      const exposition = await scrape({ fresh: true });
      const elapsed = (context.clock.nowMs() - now) / 1000;
      expect(gauge(exposition, 'paythrough_orders_outcome_in_doubt')).toBe(2);
      expect(gauge(exposition, 'paythrough_reconciler_lag_seconds')).toBeCloseTo(5 * 60 + elapsed, 3);

      // A PROCESSING refund whose check is further overdue sets the lag.
      const paid = await insertOrder(context.database.db, owner, { createdAt: now - 20 * minute, tradeState: 'REFUND', amount: 500 });
      const refund = await insertRefund(context.database.db, paid, { createdAt: now - 15 * minute, amount: 50, status: 'PROCESSING' });
      await context.database.db
        .updateTable('refunds')
        .set({ reconcile_at: now - 12 * minute })
        .where('id', '=', refund.id)
        .execute();
      const withRefund = await scrape({ fresh: true });
      expect(gauge(withRefund, 'paythrough_reconciler_lag_seconds')).toBeCloseTo(12 * 60 + (context.clock.nowMs() - now) / 1000, 3);

      // Nothing due: no lag, even with outcomes still in doubt.
      await context.database.db
        .updateTable('orders')
        .set({ reconcile_at: now + 60 * minute })
        .where('pending_operation', 'is not', null)
        .execute();
      await context.database.db
        .updateTable('refunds')
        .set({ reconcile_at: now + 60 * minute })
        .where('reconcile_at', 'is not', null)
        .execute();
      const caughtUp = await scrape({ fresh: true });
      expect(gauge(caughtUp, 'paythrough_reconciler_lag_seconds')).toBe(0);
      expect(gauge(caughtUp, 'paythrough_orders_outcome_in_doubt')).toBe(2);
    });

    it('exports: queued and running jobs, and how long the oldest queued one has waited', async () => {
      const user = await createUser(context);
      const now = context.clock.nowMs();
      const job = (id: string, status: 'queued' | 'running' | 'done', createdAt: number) => ({
        id,
        user_id: user.id,
        kind: 'orders' as const,
        format: 'csv' as const,
        filter_json: '{}',
        status,
        total_rows: null,
        rows_written: 0,
        progress: 0,
        file_name: `${id}.csv`,
        file_path: null,
        file_size: null,
        error: null,
        claimed_by: null,
        claim_token: null,
        claim_expires_at: null,
        created_at: createdAt,
        started_at: null,
        finished_at: null,
        expires_at: createdAt + 24 * 60 * minute,
      });
      await context.database.db
        .insertInto('export_jobs')
        .values([
          job('exp-metrics-1', 'queued', now - 3 * minute),
          job('exp-metrics-2', 'queued', now - minute),
          job('exp-metrics-3', 'running', now - 10 * minute),
          job('exp-metrics-4', 'done', now - 60 * minute),
        ])
        .execute();
      const exposition = await scrape({ fresh: true });
      expect(gauge(exposition, 'paythrough_export_jobs', { status: 'queued' })).toBe(2);
      expect(gauge(exposition, 'paythrough_export_jobs', { status: 'running' })).toBe(1);
      expect(gauge(exposition, 'paythrough_export_oldest_queued_age_seconds')).toBeCloseTo(
        3 * 60 + (context.clock.nowMs() - now) / 1000,
        3,
      );
    });

    it('reconciliation: OPEN exceptions by kind, runs by status, days behind the last day due, the last run’s duration', async () => {
      const now = context.clock.nowMs();
      const { timezone, reconciliationCutoff } = context.config;
      const today = businessDateOf(now, timezone);
      const lastDue = addCalendarDays(today, now >= businessTimeOn(today, reconciliationCutoff, timezone) ? -1 : -2);
      const run = (applicationId: string, back: number, status: ReconciliationStatus, finishedAt: number | null, startedAt: number) => ({
        application_id: applicationId,
        bill_date: addCalendarDays(lastDue, -back),
        channel_connection_id: 1,
        status,
        fetched: status === 'DONE' ? 1 : 0,
        pages: 1,
        attempts: 1,
        match_passes: status === 'DONE' ? 1 : 0,
        next_attempt_at: startedAt,
        first_attempt_at: startedAt,
        created_at: startedAt - minute,
        updated_at: finishedAt ?? startedAt,
        finished_at: finishedAt,
      });
      // One superapp reconciled three days ago, failed the day after, retries the last; the other is up to date.
      const runIds = await context.database.db
        .insertInto('reconciliation_runs')
        .values([
          run('app-rec-a', 3, 'DONE', now - 50 * minute, now - 51 * minute),
          run('app-rec-a', 2, 'FAILED', now - 40 * minute, now - 45 * minute),
          run('app-rec-a', 1, 'RETRYING', null, now - 30 * minute),
          run('app-rec-b', 0, 'DONE', now - 10 * minute, now - 10 * minute - 90_000),
        ])
        .returning('id')
        .execute();
      const exception = (key: string, kind: ReconciliationExceptionKind, status: 'OPEN' | 'RESOLVED') => ({
        run_id: Number(runIds[0]!.id),
        application_id: 'app-rec-a',
        bill_date: addCalendarDays(lastDue, -3),
        item_key: key,
        kind,
        status,
        mchid: 'mch-rec',
        out_trade_no: key,
        last_seen_pass: 1,
        created_at: now,
        updated_at: now,
      });
      await context.database.db
        .insertInto('reconciliation_exceptions')
        .values([
          exception('k1', 'MISSING_AT_CHANNEL', 'OPEN'),
          exception('k2', 'MISSING_AT_CHANNEL', 'OPEN'),
          exception('k3', 'AMOUNT_MISMATCH', 'RESOLVED'),
          exception('k4', 'STATE_MISMATCH', 'OPEN'),
        ])
        .execute();
      const exposition = await scrape({ fresh: true });
      const open = (kind: string) => gauge(exposition, 'paythrough_reconciliation_open_exceptions', { kind });
      expect([open('MISSING_AT_CHANNEL'), open('STATE_MISMATCH'), open('AMOUNT_MISMATCH'), open('DUPLICATE_LINE')]).toEqual([2, 1, 0, 0]);
      const runs = (status: string) => gauge(exposition, 'paythrough_reconciliation_runs', { status });
      expect([runs('DONE'), runs('FAILED'), runs('RETRYING'), runs('PENDING')]).toEqual([2, 1, 1, 0]);
      expect(gauge(exposition, 'paythrough_reconciliation_days_behind')).toBe(3);
      expect(gauge(exposition, 'paythrough_reconciliation_run_duration_seconds')).toBe(90);
    });

    it('each app has its own registry: a second app on the same database starts from zero and does not collide', async () => {
      const { buildApp } = await import('../../src/app.ts');
      const second = await buildApp(context, { backgroundJobs: false });
      try {
        expect(second.metricsRegistry).not.toBeNull();
        expect(second.metricsRegistry).not.toBe(context.app.metricsRegistry);
        const response = await second.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
        expect(response.statusCode).toBe(200);
        const exposition = parsePrometheusText(response.body);
        expect(exposition.samples.filter((s) => s.name === 'paythrough_http_requests_total')).toEqual([]);
      } finally {
        await second.close();
      }
    });

    // Last: it closes the database under the running app.
    it('when the database does not answer, the scrape still answers: paythrough_database_up 0 and the database gauges NaN', async () => {
      await context.database.close();
      const exposition = await scrape({ fresh: true });
      expect(gauge(exposition, 'paythrough_database_up')).toBe(0);
      expect(gauge(exposition, 'paythrough_outbox_pending_jobs')).toBeNaN();
      expect(gauge(exposition, 'paythrough_reconciler_lag_seconds')).toBeNaN();
      expect(gauge(exposition, 'paythrough_reconciliation_days_behind')).toBeNaN();
      expect(sampleValue(exposition, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    });
  });
});
