/**
 * A reconciliation worker in a process of its own, for the crash and two-instance proofs of SPEC §9.7
 * (statement-reconciliation-processes.test.ts): opens the test's database (already migrated) with the environment's
 * configuration, its clock at WORKER_NOW, trusts the fixture CA for the fake channel, prints `ready`, waits for a
 * line on stdin, works on due runs until none is left, prints `done <runs taken>` and exits. The test may SIGKILL it
 * at any moment.
 */
import { createInterface } from 'node:readline';
import { createAppContext } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ManualClock } from '../../src/domain/clock.ts';
import { tlsFixtures } from '../fixtures/keys/index.ts';

const env = process.env;
const clock = new ManualClock(Number(env.WORKER_NOW));
const context = await createAppContext(loadConfig(env), {
  clock,
  migrate: false,
  postgresSchema: env.WORKER_POSTGRES_SCHEMA || undefined,
  postgresPoolSize: 2,
});
context.services.gatewayChannels.configureConnector({
  lookup: async () => [{ address: '127.0.0.1', family: 4 }],
  tls: { ca: tlsFixtures.caPem },
  timeoutMs: 10_000,
  statementTimeoutMs: 10_000,
});
process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
let taken = 0;
for (
  let runs = await context.services.statementReconciliation.runDue();
  runs > 0;
  runs = await context.services.statementReconciliation.runDue()
)
  taken += runs;
process.stdout.write(`done ${taken}\n`);
await context.database.close();
process.exit(0);
