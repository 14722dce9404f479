import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { createAppContext } from './bootstrap.ts';
import type { Config } from './config/config.ts';
import { withDatabaseLock } from './db/advisory-lock.ts';
import type { AppContext } from './composition.ts';

export interface RunningServer {
  app: FastifyInstance;
  context: AppContext;
  url: string;
  stop(): Promise<void>;
}

/** Starts the HTTP server; stops gracefully on SIGINT / SIGTERM when `handleSignals` is set. */
export async function startServer(config: Config, options: { handleSignals?: boolean; context?: AppContext } = {}): Promise<RunningServer> {
  const context = options.context ?? (await createAppContext(config));
  // The first platform key is made before serving, by one instance of those starting together.
  await withDatabaseLock(context.database.db, context.database.kind, 'platform-key', () => context.services.platformKeys.ensure());
  // Reported before serving, so rotate-master-key sees this instance from its start (SPEC §7).
  await context.services.masterKeyInstances.report();
  const app = await buildApp(context, { logger: { level: config.logLevel } });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const stop = async () => {
    await app.close();
    await context.database.close();
  };
  if (options.handleSignals) {
    const onSignal = (signal: string) => {
      app.log.info({ signal }, 'shutting down');
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return { app, context, url: `http://${config.host}:${port}`, stop };
}
