import { describe, expect, it } from 'vitest';
import { replayWindowMs } from '../services/auth/nonce.service.ts';
import { loadConfig, parseMasterKeys, parseMetricsToken, parseTrustProxy, replayWindowMinutes } from './config.ts';

describe('configuration from the environment', () => {
  it('PAYTHROUGH_MASTER_KEY: unset means generated (SQLite); one key, or new,old during a rotation (first seals)', () => {
    const [first, second] = [Buffer.alloc(32, 1).toString('base64'), Buffer.alloc(32, 2).toString('base64')];
    expect(loadConfig({}).masterKeys).toBeUndefined();
    expect(parseMasterKeys('')).toBeUndefined();
    expect(loadConfig({ PAYTHROUGH_MASTER_KEY: first }).masterKeys).toEqual([first]);
    expect(loadConfig({ PAYTHROUGH_MASTER_KEY: ` ${second} , ${first}` }).masterKeys).toEqual([second, first]);
  });

  it('PAYTHROUGH_MASTER_KEY refuses empty, malformed (not 32 bytes of base64) and repeated keys, naming the entry, never its value', () => {
    const key = Buffer.alloc(32, 3).toString('base64');
    const short = Buffer.alloc(16, 4).toString('base64');
    const cases: [string, string][] = [
      [`${key},`, 'key 2 of 2 is empty (list keys as new,old)'],
      [short, 'the key is not 32 bytes, base64-encoded'],
      [`${key},${short}`, 'key 2 of 2 is not 32 bytes, base64-encoded'],
      [`${key},not base64 at all!`, 'key 2 of 2 is not 32 bytes, base64-encoded'],
      [`${key},${key}`, 'key 2 of 2 repeats key 1'],
    ];
    for (const [value, problem] of cases) {
      expect(() => loadConfig({ PAYTHROUGH_MASTER_KEY: value }), value).toThrow(`Invalid configuration: PAYTHROUGH_MASTER_KEY: ${problem}`);
      const message = (() => {
        try {
          parseMasterKeys(value);
          return '';
        } catch (error) {
          return (error as Error).message;
        }
      })();
      expect(message).not.toContain(key);
      expect(message).not.toContain(short);
    }
  });

  it('PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS: 7 by default, whole days from 1 to 365', () => {
    expect(loadConfig({}).platformKeyGraceDays).toBe(7);
    expect(loadConfig({ PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS: '30' }).platformKeyGraceDays).toBe(30);
    for (const bad of ['0', '-1', '1.5', 'seven', '366']) {
      expect(() => loadConfig({ PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS: bad }), bad).toThrow(/PAYTHROUGH_PLATFORM_KEY_GRACE_DAYS/);
    }
  });

  it('PAYTHROUGH_KEY_OVERLAP_HOURS: 24 by default, whole hours from 0 (revoke at once) to 720', () => {
    expect(loadConfig({}).keyOverlapHours).toBe(24);
    expect(loadConfig({ PAYTHROUGH_KEY_OVERLAP_HOURS: '0' }).keyOverlapHours).toBe(0);
    expect(loadConfig({ PAYTHROUGH_KEY_OVERLAP_HOURS: '72' }).keyOverlapHours).toBe(72);
    for (const bad of ['-1', '1.5', 'a day', '721']) {
      expect(() => loadConfig({ PAYTHROUGH_KEY_OVERLAP_HOURS: bad }), bad).toThrow(/PAYTHROUGH_KEY_OVERLAP_HOURS/);
    }
  });

  it('PAYTHROUGH_TRUST_PROXY: off by default; true; proxy addresses, CIDRs and range names', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(parseTrustProxy('off')).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(loadConfig({ PAYTHROUGH_TRUST_PROXY: ' 10.0.0.7, 10.1.0.0/16 ,fd00::/8,loopback' }).trustProxy).toEqual([
      '10.0.0.7',
      '10.1.0.0/16',
      'fd00::/8',
      'loopback',
    ]);
  });

  it('PAYTHROUGH_TRUST_PROXY refuses hop counts (Fastify 5 ignores them) and anything that is not an address', () => {
    expect(() => parseTrustProxy('2')).toThrow(/hop count/);
    for (const bad of ['10.0.0.300', '10.0.0.0/33', 'lb.internal', '10.0.0.0/8/1', '::1/129', ',']) {
      expect(() => parseTrustProxy(bad), bad).toThrow(/PAYTHROUGH_TRUST_PROXY/);
    }
  });

  it('PAYTHROUGH_METRICS_TOKEN: unset or empty turns /metrics off; a set token is 16+ token68 characters', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(parseMetricsToken('')).toBeUndefined();
    const token = 'f'.repeat(64);
    expect(loadConfig({ PAYTHROUGH_METRICS_TOKEN: token }).metricsToken).toBe(token);
    expect(parseMetricsToken('abc-DEF_012.345~+/xyz==')).toBe('abc-DEF_012.345~+/xyz==');
    for (const bad of ['short', 'x'.repeat(15), `${'x'.repeat(20)} y`, `${'x'.repeat(20)}"`, `${'x'.repeat(20)}\n`, `=${'x'.repeat(20)}`]) {
      expect(() => loadConfig({ PAYTHROUGH_METRICS_TOKEN: bad }), bad).toThrow(/PAYTHROUGH_METRICS_TOKEN/);
    }
  });

  it('PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES: 60 by default, whole minutes up to a week', () => {
    expect(loadConfig({}).metricsRefundStuckMinutes).toBe(60);
    expect(loadConfig({ PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES: '15' }).metricsRefundStuckMinutes).toBe(15);
    for (const bad of ['0', '-5', '2.5', 'an hour', '10081']) {
      expect(() => loadConfig({ PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES: bad }), bad).toThrow(/PAYTHROUGH_METRICS_REFUND_STUCK_MINUTES/);
    }
  });
  it('PAYTHROUGH_NONCE_RETENTION_MINUTES: the replay window (5) by default; a shorter value is refused naming the minimum', () => {
    expect(loadConfig({}).nonceRetentionMinutes).toBe(replayWindowMinutes);
    expect(replayWindowMinutes * 60_000).toBe(replayWindowMs);
    expect(loadConfig({ PAYTHROUGH_NONCE_RETENTION_MINUTES: '60' }).nonceRetentionMinutes).toBe(60);
    expect(loadConfig({ PAYTHROUGH_NONCE_RETENTION_MINUTES: '5' }).nonceRetentionMinutes).toBe(5);
    for (const short of ['4', '1', '0']) {
      expect(() => loadConfig({ PAYTHROUGH_NONCE_RETENTION_MINUTES: short }), short).toThrow(
        'Invalid configuration: PAYTHROUGH_NONCE_RETENTION_MINUTES: must be at least 5 (the replay window the nonces protect)',
      );
    }
    for (const bad of ['-5', '7.5', 'an hour', '10081']) {
      expect(() => loadConfig({ PAYTHROUGH_NONCE_RETENTION_MINUTES: bad }), bad).toThrow(/PAYTHROUGH_NONCE_RETENTION_MINUTES/);
    }
  });

  it('PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS: 90 by default, whole days from 1 to 3650', () => {
    expect(loadConfig({}).deliveryAttemptRetentionDays).toBe(90);
    expect(loadConfig({ PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS: '3650' }).deliveryAttemptRetentionDays).toBe(3650);
    expect(loadConfig({ PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS: '1' }).deliveryAttemptRetentionDays).toBe(1);
    for (const bad of ['0', '-1', '1.5', 'forever', '3651']) {
      expect(() => loadConfig({ PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS: bad }), bad).toThrow(
        /PAYTHROUGH_DELIVERY_ATTEMPT_RETENTION_DAYS/,
      );
    }
  });

  it('PAYTHROUGH_EXPORT_RETENTION_HOURS: 24 by default (SPEC §7), whole hours from 1 to 720', () => {
    expect(loadConfig({}).exportRetentionHours).toBe(24);
    expect(loadConfig({ PAYTHROUGH_EXPORT_RETENTION_HOURS: '720' }).exportRetentionHours).toBe(720);
    expect(loadConfig({ PAYTHROUGH_EXPORT_RETENTION_HOURS: '1' }).exportRetentionHours).toBe(1);
    for (const bad of ['0', '-2', '0.5', 'a day', '721']) {
      expect(() => loadConfig({ PAYTHROUGH_EXPORT_RETENTION_HOURS: bad }), bad).toThrow(/PAYTHROUGH_EXPORT_RETENTION_HOURS/);
    }
  });

  it('PAYTHROUGH_SANDBOX_REFUND_DELAY_MS: 5000 by default (SPEC §6.1), whole milliseconds from 0 (settle at once) to a day', () => {
    expect(loadConfig({}).sandboxRefundDelayMs).toBe(5000);
    expect(loadConfig({ PAYTHROUGH_SANDBOX_REFUND_DELAY_MS: '0' }).sandboxRefundDelayMs).toBe(0);
    expect(loadConfig({ PAYTHROUGH_SANDBOX_REFUND_DELAY_MS: '90000' }).sandboxRefundDelayMs).toBe(90_000);
    expect(loadConfig({ PAYTHROUGH_SANDBOX_REFUND_DELAY_MS: '86400000' }).sandboxRefundDelayMs).toBe(86_400_000);
    for (const bad of ['', ' ', '-1', '1.5', '5s', '1e3', '86400001']) {
      expect(() => loadConfig({ PAYTHROUGH_SANDBOX_REFUND_DELAY_MS: bad }), JSON.stringify(bad)).toThrow(
        /PAYTHROUGH_SANDBOX_REFUND_DELAY_MS/,
      );
    }
  });
});
