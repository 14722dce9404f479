import { isIP } from 'node:net';
import { z } from 'zod';

const onOff = z.enum(['on', 'off']);

/** How long a signed message's timestamp is accepted either way (SPEC §4.1, §7: 5 minutes). */
export const replayWindowMinutes = 5;

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.string().min(1).default('file:./data/paythrough.db'),
  PAYTHROUGH_MASTER_KEY: z.string().optional(),
  PUBLIC_URL: z.string().url().optional(),
  PAYTHROUGH_TIMEZONE: z.string().default('Asia/Shanghai'),
  PAYTHROUGH_SANDBOX: onOff.optional(),
  PAYTHROUGH_ALLOW_PRIVATE_TARGETS: z.string().default(''),
  // Digits only: an empty value must not quietly mean 0 (settle at once).
  PAYTHROUGH_SANDBOX_REFUND_DELAY_MS: z
    .string()
    .regex(/^\d+$/, 'must be whole milliseconds, 0 or more')
    .default('5000')
    .transform(Number)
    .pipe(z.number().max(86_400_000, 'must be at most 86400000 (a day)')),
  PAYTHROUGH_LOG_LEVEL: z.string().default('info'),
  PAYTHROUGH_SIGNATURE_FAILURE_LIMIT: z.coerce.number().int().min(1).default(100),
  PAYTHROUGH_MCHID_RATE_LIMIT: z.coerce.number().int().min(1).default(6000),
  PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  PAYTHROUGH_KEY_OVERLAP_HOURS: z.coerce.number().int().min(0).max(720).default(24),
  PAYTHROUGH_TRUST_PROXY: z.string().default('off'),
  PAYTHROUGH_METRICS_TOKEN: z.string().optional(),
  PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
  // Retention (SPEC §7). A nonce kept for less than the replay window would let its message be replayed.
  PAYTHROUGH_NONCE_RETENTION_MINUTES: z.coerce
    .number()
    .int()
    .min(replayWindowMinutes, `must be at least ${replayWindowMinutes} (the replay window the nonces protect)`)
    .max(10_080)
    .default(replayWindowMinutes),
  PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  PAYTHROUGH_EXPORT_RETENTION_HOURS: z.coerce.number().int().min(1).max(720).default(24),
  // Daily reconciliation (SPEC §9.2, §9.3).
  PAYTHROUGH_RECONCILIATION_CUTOFF: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)')
    .default('10:00'),
  PAYTHROUGH_RECONCILIATION_GIVE_UP_HOURS: z.coerce.number().int().min(1).max(720).default(72),
  PAYTHROUGH_RECONCILIATION_DRIFT_SECONDS: z.coerce.number().int().min(0).max(86_400).default(3600),
});

export type DatabaseKind = 'sqlite' | 'postgres';

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  databaseKind: DatabaseKind;
  /**
   * Base64 of 32 bytes each: the first seals, every one opens (a rotation lists `new,old`, SPEC §7);
   * undefined means "generate into the data folder" (SQLite only).
   */
  masterKeys: string[] | undefined;
  publicUrl: string;
  timezone: string;
  sandboxEnabled: boolean;
  allowPrivateTargets: string[];
  /** How long the sandbox channel waits before settling a refund as SUCCESS by itself (SPEC §4.3); 0 settles at once. */
  sandboxRefundDelayMs: number;
  /** How long a replaced channel key or host key is still accepted on incoming calls (SPEC §7); 0 revokes it at once. */
  keyOverlapHours: number;
  logLevel: string;
  /** Failed signatures one address may make on a signed surface per 5 minutes before it gets 429 / RequestLimitExceeded. */
  signatureFailureLimit: number;
  /** Signed gateway requests one mchid may make per minute, across instances, before 429 FREQUENCY_LIMITED. */
  mchidRateLimit: number;
  /** How long a new platform key is published before it signs, and the old one after (SPEC §7). */
  platformKeyGraceDays: number;
  /** Fastify's `trustProxy`: whose X-Forwarded-For sets the client address (per-address limits). */
  trustProxy: TrustProxy;
  /** Bearer token Prometheus presents on `GET /metrics`; undefined: metrics are off (404). */
  metricsToken: string | undefined;
  /** A refund PROCESSING longer than this counts as stuck in /metrics. */
  metricsRefundStuckMinutes: number;
  /** How long a used replay nonce is kept from its message's timestamp; never less than the replay window. */
  nonceRetentionMinutes: number;
  /** Delivery attempts of delivered or failed notifications older than this are purged (the outbox row stays). */
  deliveryAttemptRetentionDays: number;
  /** How long an export file stays downloadable (SPEC §7: 24 hours by default). */
  exportRetentionHours: number;
  /** Day D is reconciled from this wall-clock time (`HH:MM`, PAYTHROUGH_TIMEZONE) on D+1, as processors publish bills. */
  reconciliationCutoff: string;
  /** A day whose statement could not be read for this long is FAILED (re-runnable). */
  reconciliationGiveUpHours: number;
  /** Times of the two sides further apart than this are a TIME_DRIFT exception. */
  reconciliationDriftSeconds: number;
}

/** Off, every proxy (`true`), or the listed proxy addresses and CIDRs. */
export type TrustProxy = boolean | string[];

export function databaseKindOf(databaseUrl: string): DatabaseKind {
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')) return 'postgres';
  if (databaseUrl.startsWith('file:') || databaseUrl === ':memory:') return 'sqlite';
  throw new Error(`DATABASE_URL must start with file: or postgres:// (got "${databaseUrl}")`);
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration: ${problems.join('; ')}`);
  }
  const env = parsed.data;
  const databaseKind = databaseKindOf(env.DATABASE_URL);
  if (!isValidTimezone(env.PAYTHROUGH_TIMEZONE)) {
    throw new Error(`Invalid configuration: PAYTHROUGH_TIMEZONE "${env.PAYTHROUGH_TIMEZONE}" is not an IANA time zone`);
  }
  const sandbox = env.PAYTHROUGH_SANDBOX ?? (databaseKind === 'sqlite' ? 'on' : 'off');
  return {
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    databaseKind,
    masterKeys: parseMasterKeys(env.PAYTHROUGH_MASTER_KEY),
    publicUrl: (env.PUBLIC_URL ?? `http://${env.HOST}:${env.PORT}`).replace(/\/+$/, ''),
    timezone: env.PAYTHROUGH_TIMEZONE,
    sandboxEnabled: sandbox === 'on',
    allowPrivateTargets: env.PAYTHROUGH_ALLOW_PRIVATE_TARGETS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    sandboxRefundDelayMs: env.PAYTHROUGH_SANDBOX_REFUND_DELAY_MS,
    logLevel: env.PAYTHROUGH_LOG_LEVEL,
    signatureFailureLimit: env.PAYTHROUGH_SIGNATURE_FAILURE_LIMIT,
    mchidRateLimit: env.PAYTHROUGH_MCHID_RATE_LIMIT,
    platformKeyGraceDays: env.PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS,
    keyOverlapHours: env.PAYTHROUGH_KEY_OVERLAP_HOURS,
    trustProxy: parseTrustProxy(env.PAYTHROUGH_TRUST_PROXY),
    metricsToken: parseMetricsToken(env.PAYTHROUGH_METRICS_TOKEN),
    metricsRefundStuckMinutes: env.PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES,
    nonceRetentionMinutes: env.PAYTHROUGH_NONCE_RETENTION_MINUTES,
    deliveryAttemptRetentionDays: env.PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS,
    exportRetentionHours: env.PAYTHROUGH_EXPORT_RETENTION_HOURS,
    reconciliationCutoff: env.PAYTHROUGH_RECONCILIATION_CUTOFF,
    reconciliationGiveUpHours: env.PAYTHROUGH_RECONCILIATION_GIVE_UP_HOURS,
    reconciliationDriftSeconds: env.PAYTHROUGH_RECONCILIATION_DRIFT_SECONDS,
  };
}

/**
 * Unset or empty: none (SQLite generates one). Otherwise comma-separated keys, each 32 bytes in base64, none twice;
 * the first seals and every one opens. Errors say which key of the list is wrong, never what it holds.
 */
export function parseMasterKeys(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const keys = value.split(',').map((key) => key.trim());
  const problems = keys.map((key, index) => masterKeyProblem(keys, index)).filter((problem) => problem !== undefined);
  if (problems.length > 0) throw new Error(`Invalid configuration: PAYTHROUGH_MASTER_KEY: ${problems.join('; ')}`);
  return keys;
}

function masterKeyProblem(keys: string[], index: number): string | undefined {
  const key = keys[index]!;
  const which = keys.length === 1 ? 'the key' : `key ${index + 1} of ${keys.length}`;
  if (key === '') return `${which} is empty (list keys as new,old)`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length !== 32) return `${which} is not 32 bytes, base64-encoded`;
  const first = keys.indexOf(key);
  if (first !== index) return `${which} repeats key ${first + 1}`;
  return undefined;
}

/** Unset or empty: metrics off. Otherwise at least 16 visible characters, sent as `Authorization: Bearer <token>`. */
export function parseMetricsToken(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  // RFC 6750's token68 alphabet: what a Bearer header carries unescaped.
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(value) || value.length < 16) {
    throw new Error(
      'Invalid configuration: PAYTHROUGH_METRICS_TOKEN must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (then =), ' +
        'e.g. openssl rand -hex 32',
    );
  }
  return value;
}

/** `off` / `false` (default), `true`, or comma-separated proxy addresses, CIDRs and range names. */
export function parseTrustProxy(value: string): TrustProxy {
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'off' || text === 'false') return false;
  if (text === 'true' || text === 'on') return true;
  // Fastify 5 ignores a hop count (it cannot tell a proxy from a direct client that forges the header): refuse it.
  if (/^\d+$/.test(text)) {
    throw new Error(
      `Invalid configuration: PAYTHROUGH_TRUST_PROXY does not take a hop count (got ${text}); list the load balancer's addresses or CIDRs`,
    );
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const invalid = entries.filter((entry) => !isAddressOrCidr(entry));
  if (entries.length === 0 || invalid.length > 0) {
    throw new Error(
      'Invalid configuration: PAYTHROUGH_TRUST_PROXY must be off, true or comma-separated proxy addresses/CIDRs ' +
        `(bad: ${invalid.join(', ') || value})`,
    );
  }
  return entries;
}

// proxy-addr's names for the loopback, link-local and private ranges.
const namedRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  if (namedRanges.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d+$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function isValidTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}
