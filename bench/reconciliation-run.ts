import { readFileSync } from 'node:fs';
import { createAppContext } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/config.ts';
import { testHashingCost } from '../src/crypto/passwords.ts';
import { tlsFixtures } from '../test/fixtures/keys/index.ts';

/**
 * The reconciling process of the reconciliation bench, started the way the server runs
 * (`node --import tsx bench/reconciliation-run.ts`, its settings in PAYTHROUGH_BENCH_RECONCILE as JSON): opens the
 * bench's database as `paythrough start` would (no migration), runs the real StatementReconciliationService for the
 * day against the bench's channel, and sends its parent the run, the exceptions per kind and status, the wall time
 * and the process's peak RSS (the kernel's high-water mark, VmHWM).
 */

interface Settings {
  databaseUrl: string;
  postgresSchema?: string;
  masterKey: string;
  applicationId: string;
  billDate: string;
  connectionId: number;
}

export interface ReconcileResult {
  status: string;
  lastError: string | null;
  seconds: number;
  /** CPU time of this process during the run (the channel and PostgreSQL not included): does not grow with the load. */
  cpuSeconds: number;
  peakRssBytes: number;
  rssBeforeBytes: number;
  report: { lines: number; exceptions: { kind: string; status: string; n: number }[] } | null;
}

const highWaterMark = () => {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
};

const settings = JSON.parse(process.env.PAYTHROUGH_BENCH_RECONCILE ?? '') as Settings;
const config = {
  ...loadConfig({
    DATABASE_URL: settings.databaseUrl,
    PAYTHROUGH_SANDBOX: 'on',
    PORT: '0',
    PAYTHROUGH_LOG_LEVEL: 'warn',
    PAYTHROUGH_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
  }),
  masterKeys: [settings.masterKey],
};
const context = await createAppContext(config, {
  migrate: false,
  hashingCost: testHashingCost,
  ...(settings.postgresSchema ? { postgresSchema: settings.postgresSchema, postgresPoolSize: 4 } : {}),
});
try {
  context.services.gatewayChannels.configureConnector({
    lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    tls: { ca: tlsFixtures.caPem },
  });
  const rssBeforeBytes = process.memoryUsage().rss;
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const runs = await context.services.statementReconciliation.reconcileDay(settings.billDate, settings.applicationId);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  const run = runs.find((candidate) => Number(candidate.channel_connection_id) === settings.connectionId);
  const result: ReconcileResult = {
    status: run?.status ?? 'NO_RUN',
    lastError: run?.last_error ?? null,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: highWaterMark(),
    rssBeforeBytes,
    report: run?.report_json ? (JSON.parse(run.report_json) as ReconcileResult['report']) : null,
  };
  await new Promise<void>((resolve) => process.send!(result, () => resolve()));
} finally {
  await context.database.close();
}
