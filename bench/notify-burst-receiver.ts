import { LoadNotifyReceiver } from './load-notify-receiver.ts';

// The notify-burst bench's merchant receiver, in a process of its own (so its signature checks and
// decryption do not share the instance's CPU): verifies and decrypts every delivery, answers at once,
// and reports over IPC when the expected number of distinct events has arrived.
const { merchant, expected } = JSON.parse(process.env.PAYTHROUGH_BENCH_RECEIVER!) as {
  merchant: { apiV3Key: string; platformSerial: string; platformPublicKeyPem: string };
  expected: number;
};
const receiver = await new LoadNotifyReceiver(merchant).start();
let reported = 0;
const report = () => {
  const distinct = receiver.events.size;
  // Each round's events arrive; tell the bench once per full round (it waits for multiples of `expected`).
  if (distinct >= (reported + 1) * expected) {
    reported = Math.floor(distinct / expected);
    process.send!({ phase: 'received', distinct, deliveries: receiver.deliveries, rejected: receiver.rejected });
  }
};
receiver.onPaid = () => queueMicrotask(report);
process.send!({ phase: 'ready', url: receiver.url });
process.on('message', (message: { phase: string }) => {
  if (message.phase === 'stop') void receiver.stop().then(() => process.exit(0));
});
