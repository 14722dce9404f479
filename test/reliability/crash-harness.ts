import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretBox } from '../../src/crypto/secret-box.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import type { DatabaseKind } from '../../src/config/config.ts';
import { cliPath, repositoryRoot } from '../helpers/cli-process.ts';
import type { MerchantCredentials } from '../helpers/gateway-client.ts';
import { createPostgresSchema, postgresTestUrl } from '../helpers/postgres.ts';
import { withSchemaCatalogLock } from '../helpers/test-context.ts';

/**
 * The crash-safety test's machinery: the real server as a child process (`node bin/paythrough.mjs
 * start`) that can be SIGKILLed and started again on the same database and port, a notify receiver
 * that verifies and decrypts what arrives, and a seeded random source so a failing run can be replayed.
 */

const require = createRequire(import.meta.url);
// The published client, unmodified: signs requests, verifies answers; its Rsa / Aes check notifications.
const { Rsa, Aes, Formatter } = require('wechatpay-axios-plugin');

/** mulberry32: small, seedable, good enough to pick amounts, outcomes and kill moments. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number) => next() < p,
  };
}
export type SeededRandom = ReturnType<typeof seededRandom>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh database for one run: a temporary SQLite file, or a PostgreSQL schema of its own. */
export interface CrashDatabase {
  kind: DatabaseKind;
  url: string;
  postgresSchema?: string;
  /** The test's own connection, for the final checks (the server has its own). */
  open(): DatabaseHandle;
  drop(): Promise<void>;
}

export async function createCrashDatabase(kind: DatabaseKind): Promise<CrashDatabase> {
  if (kind === 'sqlite') {
    const folder = mkdtempSync(path.join(tmpdir(), 'paythrough-crash-'));
    const url = `file:${path.join(folder, 'paythrough.db')}`;
    return { kind, url, open: () => openDatabase(url), drop: async () => rmSync(folder, { recursive: true, force: true }) };
  }
  const created = await createPostgresSchema();
  return {
    kind,
    url: `${postgresTestUrl}?options=${encodeURIComponent(`-c search_path=${created.schema}`)}`,
    postgresSchema: created.schema,
    open: () => openDatabase(postgresTestUrl, { postgresSchema: created.schema, postgresPoolSize: 2 }),
    drop: () => withSchemaCatalogLock('exclusive', created.drop),
  };
}

/** The server as an operator runs it, on one database and one port across kills and restarts. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** The last lines the server printed (shown when something fails). */
  readonly log: string[] = [];
  starts = 0;
  kills = 0;
  readonly baseUrl: string;

  constructor(
    readonly env: NodeJS.ProcessEnv,
    readonly port: number,
    private readonly beforeStart: <T>(run: () => Promise<T>) => Promise<T> = (run) => run(),
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  async start(timeoutMs = 90_000): Promise<number> {
    const startedAt = Date.now();
    await this.beforeStart(async () => {
      const child = spawn(process.execPath, [cliPath, 'start', '--no-demo'], {
        cwd: repositoryRoot,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child;
      this.starts += 1;
      const remember = (chunk: Buffer) => {
        this.log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
      };
      child.stdout!.on('data', remember);
      child.stderr!.on('data', remember);
      this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
      // Up means /healthz answers, which needs the database: migrations and the listener are done.
      for (;;) {
        if (child.exitCode !== null)
          throw new Error(`the server exited with ${child.exitCode} while starting:\n${this.log.slice(-30).join('\n')}`);
        if (Date.now() - startedAt > timeoutMs)
          throw new Error(`the server did not answer /healthz within ${timeoutMs} ms:\n${this.log.slice(-30).join('\n')}`);
        const healthy = await fetch(`${this.baseUrl}/healthz`).then(
          (response) => response.status === 200,
          () => false,
        );
        if (healthy) break;
        await sleep(100);
      }
    });
    return Date.now() - startedAt;
  }

  /** SIGKILL: no shutdown hook, no drain, no flush — whatever was in flight is cut. */
  async kill(): Promise<void> {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    this.kills += 1;
    await this.exited;
  }

  /** Graceful stop at the end (SIGTERM, then SIGKILL if it hangs). */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The environment of every server and CLI run of one database. */
export function serverEnvironment(database: CrashDatabase, port: number, masterKey = SecretBox.generateMasterKey()): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    DATABASE_URL: database.url,
    PAYTHROUGH_MASTER_KEY: masterKey,
    PAYTHROUGH_SANDBOX: 'on',
    PAYTHROUGH_ALLOW_PRIVATE_TARGETS: '127.0.0.1/32',
    PAYTHROUGH_LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
  };
}

/** One notification as the merchant's server read it: signature checked, resource decrypted. */
export interface ReceivedNotice {
  id: string;
  eventType: string;
  resource: Record<string, any>;
  at: number;
}

/**
 * A merchant's notify_url: checks the platform signature and serial, decrypts the resource with the
 * APIv3 key, records it and answers 204; anything that does not verify is answered 401 and counted.
 */
export class VerifyingNotifyReceiver {
  readonly received: ReceivedNotice[] = [];
  readonly rejected: string[] = [];
  private server: Server | undefined;
  url = '';

  /** `answerDelayMs(n)`: how long the n-th request waits for its answer (a merchant server takes time; a kill lands mid-delivery). */
  constructor(
    private readonly merchant: MerchantCredentials,
    private readonly answerDelayMs: (n: number) => number = () => 0,
  ) {}

  async start(): Promise<this> {
    this.server = createHttpServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const problem = this.accept(request.headers as Record<string, string | undefined>, body);
        if (problem) this.rejected.push(problem);
        setTimeout(
          () => {
            if (problem)
              response.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'FAIL', message: problem }));
            else response.writeHead(204).end();
          },
          this.answerDelayMs(this.received.length + this.rejected.length),
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/notify`;
    return this;
  }

  private accept(headers: Record<string, string | undefined>, body: string): string | undefined {
    const { merchant } = this;
    if (headers['wechatpay-serial'] !== merchant.platformSerial) return `unknown Wechatpay-Serial ${headers['wechatpay-serial']}`;
    const message = Formatter.response(headers['wechatpay-timestamp'], headers['wechatpay-nonce'], body);
    if (!Rsa.verify(message, headers['wechatpay-signature'], merchant.platformPublicKeyPem)) return 'signature does not verify';
    try {
      const parsed = JSON.parse(body) as {
        id: string;
        event_type: string;
        resource: { ciphertext: string; nonce: string; associated_data: string };
      };
      const { ciphertext, nonce, associated_data: aad } = parsed.resource;
      const resource = JSON.parse(Aes.AesGcm.decrypt(ciphertext, merchant.apiV3Key, nonce, aad)) as Record<string, any>;
      this.received.push({ id: parsed.id, eventType: parsed.event_type, resource, at: Date.now() });
      return undefined;
    } catch (error) {
      return `cannot decrypt: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
