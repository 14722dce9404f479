import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrator.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { startJobLoop, type JobLoop } from '../jobs/job-loop.ts';
import { securityPlugin } from '../plugins/external/security-headers.plugin.ts';
import { sandboxRoutes } from '../routes/sandbox/sandbox.routes.ts';
import { NonceService } from '../services/auth/index.ts';
import { HttpCallbackSender } from '../channels/http/callbacks.ts';
import { minimumChannelKeyLength } from '../channels/protocol.ts';
import { SandboxChannel } from '../channels/sandbox/sandbox-channel.ts';
import { sandboxProtocolRoutes } from '../routes/sandbox/sandbox-protocol.routes.ts';

/**
 * The sandbox channel as its own HTTP server: the superapp side of the channel protocol, the cashier
 * and the control API, with its own store. Paythrough reaches it through the HTTP connector (a
 * superapp configured with this server's URL and key), and it posts its events to Paythrough's
 * callback URL, signed — exactly what a real superapp's payment backend does.
 */
export interface SandboxServerOptions {
  /** Its own store (SQLite file or PostgreSQL); migrated on start. */
  databaseUrl: string;
  postgresSchema?: string;
  channelKey: string;
  /** Paythrough's callback URL for the superapp: `{PUBLIC_URL}/channel/v1/superapps/{applicationId}/events`. */
  callbackUrl: string;
  host?: string;
  port?: number;
  /** Base of cashier links; default the server's own URL. */
  publicUrl?: string;
  refundDelayMs?: number;
  /** How often due refunds and undelivered events are looked at (0: never; tests call `sandbox.tick()`). */
  tickIntervalMs?: number;
  clock?: Clock;
  /** CIDRs the callback URL may resolve to besides public and loopback addresses. */
  allowPrivateTargets?: string[];
}

export interface RunningSandboxServer {
  url: string;
  app: FastifyInstance;
  sandbox: SandboxChannel;
  stop(): Promise<void>;
}

export async function startSandboxServer(options: SandboxServerOptions): Promise<RunningSandboxServer> {
  if (options.channelKey.length < minimumChannelKeyLength)
    throw new Error(`The channel key must be at least ${minimumChannelKeyLength} characters`);
  const clock = options.clock ?? systemClock;
  const database = openDatabase(options.databaseUrl, options.postgresSchema ? { postgresSchema: options.postgresSchema } : {});
  await migrateToLatest(database.db, database.kind);
  let url = '';
  const sandbox = new SandboxChannel({
    db: database.db,
    clock,
    publicUrl: () => options.publicUrl ?? url,
    ...(options.refundDelayMs === undefined ? {} : { refundDelayMs: options.refundDelayMs }),
    sink: new HttpCallbackSender({
      callbackUrl: options.callbackUrl,
      channelKey: options.channelKey,
      clock,
      policy: { allowPrivateTargets: options.allowPrivateTargets ?? [], sandboxRelaxed: true },
    }),
  });
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(securityPlugin);
  await app.register(sandboxProtocolRoutes, {
    sandbox,
    channelKey: options.channelKey,
    nonces: new NonceService(database.db, clock),
    clock,
  });
  await app.register(sandboxRoutes, { sandbox, standalone: true });
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  url = `http://${options.host ?? '127.0.0.1'}:${typeof address === 'object' && address ? address.port : options.port}`;
  const ticker: JobLoop | undefined =
    options.tickIntervalMs === 0 ? undefined : startJobLoop('sandbox-tick', options.tickIntervalMs ?? 1000, () => sandbox.tick());
  return {
    url,
    app,
    sandbox,
    async stop() {
      await ticker?.stop();
      await app.close();
      await database.close();
    },
  };
}
