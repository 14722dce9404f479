import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signV3Request } from '../../src/crypto/wechatpay-v3.ts';
import { keyFixtures } from '../fixtures/keys/index.ts';
import { createUser } from '../helpers/factories.ts';
import { createTestContext, type TestContext } from '../helpers/test-context.ts';

/**
 * PAYTHROUGH_TRUST_PROXY: whose X-Forwarded-For sets the client address that the per-address limits
 * (sign-in, signature failures) count. Off, the header is ignored; on, it is honoured only from a
 * trusted proxy. The counting itself is test/security/brute-force.test.ts's; here only the address.
 */
const loadBalancer = '10.0.0.7';
const failuresPerAddress = 30;

async function addressCounters(context: TestContext, prefix: string): Promise<Map<string, number>> {
  const rows = await context.database.db
    .selectFrom('rate_limit_counters')
    .select(['counter_key', 'hits'])
    .where('counter_key', 'like', `${prefix}%`)
    .execute();
  const hits = new Map<string, number>();
  for (const row of rows) {
    const address = row.counter_key.slice(prefix.length);
    hits.set(address, (hits.get(address) ?? 0) + Number(row.hits));
  }
  return hits;
}

function signIn(context: TestContext, body: { account: string; password: string }, remoteAddress: string, forwardedFor?: string) {
  return context.app.inject({
    method: 'POST',
    url: '/api/v1/session',
    remoteAddress,
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    payload: body,
  });
}

// The address rule is the HTTP layer's, not the database's: SQLite only.
describe('client address behind a load balancer (PAYTHROUGH_TRUST_PROXY)', () => {
  describe('off (the default)', () => {
    let context: TestContext;
    beforeAll(async () => {
      context = await createTestContext('sqlite');
    });
    afterAll(() => context?.close());

    it('ignores X-Forwarded-For: failures sent with a fresh forged address each time still lock the sending address', async () => {
      expect(context.config.trustProxy).toBe(false);
      const user = await createUser(context);
      for (let i = 0; i < failuresPerAddress; i++) {
        expect(
          (await signIn(context, { account: `nobody-${i % 10}`, password: 'guess' }, loadBalancer, `203.0.113.${i + 1}`)).statusCode,
        ).toBe(401);
      }
      const counters = await addressCounters(context, 'sign-in:address:');
      expect([...counters.keys()]).toEqual([loadBalancer]);
      expect((await signIn(context, user, loadBalancer, '203.0.113.200')).statusCode).toBe(429);
      expect((await signIn(context, user, '10.0.0.8')).statusCode).toBe(200);
    });
  });

  describe('on, trusting the load balancer', () => {
    let context: TestContext;
    beforeAll(async () => {
      context = await createTestContext('sqlite', { config: { trustProxy: [loadBalancer] } });
    });
    afterAll(() => context?.close());

    it("counts sign-in failures per client behind the trusted proxy: one client's lock leaves the others alone", async () => {
      const user = await createUser(context);
      const attacker = '203.0.113.66';
      for (let i = 0; i < failuresPerAddress; i++) {
        expect((await signIn(context, { account: `nobody-${i % 10}`, password: 'guess' }, loadBalancer, attacker)).statusCode).toBe(401);
      }
      expect((await signIn(context, user, loadBalancer, attacker)).statusCode).toBe(429);
      // Another customer through the same balancer, and the balancer's own appended hop after a client-sent value.
      expect((await signIn(context, user, loadBalancer, '203.0.113.67')).statusCode).toBe(200);
      expect((await signIn(context, user, loadBalancer, `${attacker}, 203.0.113.68`)).statusCode).toBe(200);
      expect((await addressCounters(context, 'sign-in:address:')).get(attacker)).toBeGreaterThanOrEqual(failuresPerAddress);
      expect((await addressCounters(context, 'sign-in:address:')).has(loadBalancer)).toBe(false);
    });

    it('ignores X-Forwarded-For from a peer that is not the trusted proxy', async () => {
      const user = await createUser(context);
      const direct = '198.51.100.77';
      for (let i = 0; i < failuresPerAddress; i++) {
        expect((await signIn(context, { account: `stranger-${i % 10}`, password: 'guess' }, direct, `203.0.114.${i + 1}`)).statusCode).toBe(
          401,
        );
      }
      expect((await signIn(context, user, direct, '203.0.114.250')).statusCode).toBe(429);
      const counters = await addressCounters(context, 'sign-in:address:');
      expect(counters.get(direct)).toBeGreaterThanOrEqual(failuresPerAddress);
      expect([...counters.keys()].some((address) => address.startsWith('203.0.114.'))).toBe(false);
    });

    it('counts gateway signature failures under the client address, not the balancer', async () => {
      const client = '203.0.113.90';
      const url = '/v3/pay/transactions/out-trade-no/TP-1?mchid=1900000001';
      const authorization = signV3Request(
        { mchid: '1900000001', serialNo: 'F'.repeat(40), privateKey: keyFixtures.merchantA.privateKeyPem },
        { method: 'GET', url, body: '' },
        { nowMs: context.clock.nowMs() },
      );
      const response = await context.app.inject({
        method: 'GET',
        url,
        remoteAddress: loadBalancer,
        headers: { authorization, accept: 'application/json', 'x-forwarded-for': client },
      });
      expect(response.statusCode).toBe(401);
      const counters = await addressCounters(context, 'signature-failures:v3:');
      expect([...counters.entries()]).toEqual([[client, 1]]);
    });
  });
});
