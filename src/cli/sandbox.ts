import { startSandboxServer } from './sandbox-server.ts';

// `npx tsx src/channels/sandbox/main.ts`: the sandbox channel as its own server, configured from the environment.
const environment = process.env;
const required = (name: string) => {
  const value = environment[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const server = await startSandboxServer({
  databaseUrl: environment.SANDBOX_DATABASE_URL ?? 'file:./data/sandbox-channel.db',
  channelKey: required('SANDBOX_CHANNEL_KEY'),
  callbackUrl: required('SANDBOX_CALLBACK_URL'),
  host: environment.SANDBOX_HOST ?? '127.0.0.1',
  port: Number(environment.SANDBOX_PORT ?? 8090),
  ...(environment.SANDBOX_PUBLIC_URL ? { publicUrl: environment.SANDBOX_PUBLIC_URL } : {}),
  ...(environment.SANDBOX_REFUND_DELAY_MS ? { refundDelayMs: Number(environment.SANDBOX_REFUND_DELAY_MS) } : {}),
  allowPrivateTargets: (environment.PAYTHROUGH_ALLOW_PRIVATE_TARGETS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
});
process.stdout.write(`Sandbox channel listening at ${server.url} (channel base URL for the superapp's HTTP channel)\n`);
const stop = () => server.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
