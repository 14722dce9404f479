import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OperationsSnapshot } from '../../services/records/index.ts';
import { methodLabel, statusClassOf, surfaceOfRoute } from './request-surface.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry (never prom-client's global one); null while metrics are off. */
    metricsRegistry: Registry | null;
  }
}

const requestLabels = ['surface', 'method', 'status_class'] as const;

/**
 * The Prometheus metrics of one app (SPEC §7), on a registry of its own so that several apps in one
 * process (tests) never collide: requests and latency per surface, Node's process metrics, and the
 * database gauges, read at scrape time from a snapshot cached a few seconds. Only while
 * PAYTHROUGH_METRICS_TOKEN is set: otherwise nothing is counted and `/metrics` answers 404.
 */
export const metricsPlugin = fp(
  async (app) => {
    if (!app.config.metricsToken) {
      app.decorate('metricsRegistry', null);
      return;
    }
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });

    const requests = new Counter({
      name: 'paythrough_http_requests_total',
      help:
        'HTTP requests answered, by surface (from the matched route pattern; unmatched when no route matched), ' +
        'method and status class.',
      labelNames: requestLabels,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'paythrough_http_request_duration_seconds',
      help: 'Time from receiving a request to sending its answer, by surface, method and status class.',
      labelNames: requestLabels,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        surface: surfaceOfRoute(request.method, request.routeOptions.url),
        method: methodLabel(request.method),
        status_class: statusClassOf(reply.statusCode),
      };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    });

    const snapshot = () => app.services.operationsMetrics.snapshot();
    const gauge = (name: string, help: string, read: (taken: OperationsSnapshot) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(read(await snapshot()));
        },
      });
    const stuckMinutes = app.config.metricsRefundStuckMinutes;
    gauge(
      'paythrough_database_up',
      '1 when the database answered the queries behind the gauges below at the last snapshot (taken at most every 5 s); ' +
        '0 when not, and those gauges are NaN.',
      (s) => (s.databaseUp ? 1 : 0),
    );
    gauge(
      'paythrough_outbox_pending_jobs',
      'Outbox jobs (merchant notifications, host refund webhooks) not yet delivered and not given up, including those waiting for a retry.',
      (s) => s.outbox.pending,
    );
    gauge(
      'paythrough_outbox_due_jobs',
      'Pending outbox jobs whose next attempt is due now: what the delivery workers have to do.',
      (s) => s.outbox.due,
    );
    gauge(
      'paythrough_outbox_oldest_pending_age_seconds',
      'Age of the oldest pending outbox job since it was enqueued (0 when none): high while a target keeps failing; ' +
        'a job gives up after its retries (about 24 h).',
      (s) => s.outbox.oldestPendingAgeSeconds,
    );
    gauge(
      'paythrough_outbox_delivery_lag_seconds',
      'How long the most overdue due outbox job has waited past its next attempt time (0 when none is due): ' +
        'how far behind the delivery workers are.',
      (s) => s.outbox.deliveryLagSeconds,
    );
    gauge(
      'paythrough_refunds_processing',
      'Refunds in PROCESSING (accepted, the channel has not settled them).',
      (s) => s.refunds.processing,
    );
    gauge(
      'paythrough_refunds_stuck_processing',
      `Refunds in PROCESSING for more than ${stuckMinutes} minutes (PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES).`,
      (s) => s.refunds.stuck,
    );
    gauge(
      'paythrough_refunds_oldest_processing_age_seconds',
      'Age of the oldest refund in PROCESSING since it was created (0 when none).',
      (s) => s.refunds.oldestProcessingAgeSeconds,
    );
    gauge(
      'paythrough_orders_outcome_in_doubt',
      'Orders whose channel call (create, close, expiry) has an unknown outcome: the reconciler settles each by querying the channel.',
      (s) => s.reconciler.ordersInDoubt,
    );
    gauge(
      'paythrough_reconciler_lag_seconds',
      'How far past its due time the earliest check the reconciler owes is, ' +
        'over orders with an outcome in doubt and refunds in PROCESSING (0 when none is due). ' +
        'A check the channel does not answer is rescheduled, so this says whether the reconciler keeps up, not whether channels answer ' +
        '(see paythrough_orders_outcome_in_doubt and paythrough_refunds_oldest_processing_age_seconds).',
      (s) => s.reconciler.lagSeconds,
    );
    new Gauge({
      name: 'paythrough_export_jobs',
      help: 'Background record exports queued and running.',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const { exports } = await snapshot();
        this.set({ status: 'queued' }, exports.queued);
        this.set({ status: 'running' }, exports.running);
      },
    });
    gauge(
      'paythrough_export_oldest_queued_age_seconds',
      'How long the oldest queued export has waited for a worker (0 when none).',
      (s) => s.exports.oldestQueuedAgeSeconds,
    );

    new Gauge({
      name: 'paythrough_reconciliation_open_exceptions',
      help: 'Daily reconciliation exceptions still OPEN (SPEC §9.3), by kind, over every superapp and day: each needs an operator.',
      labelNames: ['kind'],
      registers: [registry],
      async collect() {
        const { reconciliation } = await snapshot();
        for (const [kind, n] of Object.entries(reconciliation.openExceptions)) this.set({ kind }, n);
      },
    });
    new Gauge({
      name: 'paythrough_reconciliation_runs',
      help: 'Daily reconciliation runs (one per superapp, business day and channel connection) by status.',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const { reconciliation } = await snapshot();
        for (const [status, n] of Object.entries(reconciliation.runs)) this.set({ status }, n);
      },
    });
    gauge(
      'paythrough_reconciliation_days_behind',
      'The most days, over superapps with runs, between the last business day due (after PAYTHROUGH_RECONCILIATION_CUTOFF) ' +
        'and the last day reconciled to the end (DONE, or NO_STATEMENT); 0 when up to date.',
      (s) => s.reconciliation.daysBehind,
    );
    gauge(
      'paythrough_reconciliation_run_duration_seconds',
      'How long the run finished last took, from its first request for the statement to its end (retries included; 0 before any).',
      (s) => s.reconciliation.lastRunDurationSeconds,
    );

    app.decorate('metricsRegistry', registry);
  },
  { name: 'metrics', dependencies: ['app-context'] },
);
