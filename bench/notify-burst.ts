import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startBackgroundJobs } from '../src/composition.ts';
import { createBenchContext } from './bench-context.ts';
import { rsaSigningRate } from './gateway.bench.ts';

/**
 * Merchant notifications at full speed: N paid-order notifications (TRANSACTION.SUCCESS, the real
 * NotificationService in one transaction each, as a payment writes them) are delivered by one instance's
 * background jobs to a local receiver in another process that checks every signature, decrypts every
 * resource and answers 204 at once.
 *
 *  - backlog: N notifications wait, then the jobs start: deliveries per second until the last one arrives;
 *  - burst: the jobs run while N payments commit as fast as they can: how long after the last payment the
 *    last notification arrives.
 *
 * The one-core RSA-2048 signing rate is measured in the same run (each delivery is signed once).
 *
 *   npm run bench -- notify-burst [--count 2000] [--rsa-seconds 3]
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench -- notify-burst
 */

const round = (value: number | string) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value);
const line = (metric: string, value: number | string, unit: string) =>
  process.stdout.write(`${JSON.stringify({ bench: 'notify-burst', metric, value: round(value), unit })}\n`);

type ReceiverMessage = { phase: 'ready'; url: string } | { phase: 'received'; distinct: number; deliveries: number; rejected: number };

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { count: { type: 'string', default: '2000' }, 'rsa-seconds': { type: 'string', default: '3' } },
  });
  const count = Number(values.count);

  const { context, dispose } = await createBenchContext();
  const manifest = await context.services.demoWorld.ensure();
  const ready = manifest.miniPrograms.ready;

  const receiver = fork(path.join(import.meta.dirname, 'notify-burst-receiver.ts'), [], {
    execArgv: process.execArgv,
    env: { ...process.env, PAYTHROUGH_BENCH_RECEIVER: JSON.stringify({ merchant: ready, expected: count }) },
  });
  let onMessage: (message: ReceiverMessage) => void = () => undefined;
  receiver.on('message', (message: ReceiverMessage) => onMessage(message));
  const next = <P extends ReceiverMessage['phase']>(phase: P) =>
    new Promise<Extract<ReceiverMessage, { phase: P }>>((resolve) => {
      onMessage = (message) => {
        if (message.phase === phase) resolve(message as Extract<ReceiverMessage, { phase: P }>);
      };
    });
  const { url } = await next('ready');

  let sequence = 0;
  const pay = async () => {
    sequence += 1;
    const outTradeNo = `NB${sequence.toString().padStart(8, '0')}`;
    await context.database.db.transaction().execute((trx) =>
      context.services.notifications.enqueue(trx, {
        eventType: 'TRANSACTION.SUCCESS',
        appId: ready.mnpId,
        mchid: ready.mchid,
        notifyUrl: url,
        sandbox: true,
        subject: { type: 'order', id: outTradeNo },
        resource: {
          appid: ready.mnpId,
          mchid: ready.mchid,
          out_trade_no: outTradeNo,
          transaction_id: `42000000${sequence.toString().padStart(20, '0')}`,
          trade_type: 'JSAPI',
          trade_state: 'SUCCESS',
          trade_state_desc: '支付成功',
          bank_type: 'OTHERS',
          attach: '',
          success_time: new Date().toISOString(),
          payer: { openid: 'o-bench-payer' },
          amount: { total: 100, payer_total: 100, currency: 'CNY', payer_currency: 'CNY' },
        },
      }),
    );
  };

  try {
    process.stderr.write(`notify-burst: ${context.database.kind}, ${count} notifications, ${cpus()[0]?.model ?? 'unknown CPU'}\n`);
    const rsaRate = rsaSigningRate(Number(values['rsa-seconds']));
    line('rsa2048_sign_rate_one_core', rsaRate.cpu, 'signs/s (CPU time)');
    line('rsa2048_sign_rate_one_core_wall', rsaRate.wall, 'signs/s (wall)');

    // Backlog: N notifications wait, then one instance's jobs drain them.
    for (let i = 0; i < count; i += 1) await pay();
    let received = next('received');
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    let jobs = startBackgroundJobs(context);
    const backlog = await received;
    const drainMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    await jobs.stop();
    const rate = count / (drainMs / 1000);
    line('backlog_deliveries_per_second', rate, 'deliveries/s');
    line('backlog_drain_time', drainMs, 'ms');
    line('backlog_instance_cpu_per_delivery', (cpu.user + cpu.system) / 1000 / count, 'ms');
    line('backlog_ratio_to_rsa_signing_rate', rate / rsaRate.cpu, 'ratio');
    // The same per CPU second of the instance's process (what a busy shared machine does not distort).
    line('backlog_deliveries_per_instance_cpu_second', count / ((cpu.user + cpu.system) / 1e6), 'deliveries/s (CPU time)');
    line('backlog_cpu_ratio_to_rsa_signing_rate', count / ((cpu.user + cpu.system) / 1e6) / rsaRate.cpu, 'ratio');
    line('backlog_rejected_by_receiver', backlog.rejected, 'deliveries');

    // Burst: the jobs run while N payments commit one after another.
    received = next('received');
    jobs = startBackgroundJobs(context);
    const burstStart = performance.now();
    for (let i = 0; i < count; i += 1) await pay();
    const lastPaymentAt = performance.now();
    const burst = await received;
    const lastArrivalAt = performance.now();
    await jobs.stop();
    line('burst_payments_per_second', count / ((lastPaymentAt - burstStart) / 1000), 'payments/s');
    line('burst_last_notification_after_last_payment', lastArrivalAt - lastPaymentAt, 'ms');
    line('burst_first_payment_to_last_notification', lastArrivalAt - burstStart, 'ms');
    line('burst_rejected_by_receiver', burst.rejected - backlog.rejected, 'deliveries');
    line('burst_deliveries_total', burst.deliveries, 'deliveries');
    line('load_average_1m', loadavg()[0]!, 'load');
  } finally {
    receiver.send({ phase: 'stop' });
    await dispose();
  }
}
