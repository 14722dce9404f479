import { afterAll, beforeAll, expect, it } from 'vitest';
import { NonceService } from '../../src/services/auth/nonce.service.ts';
import { replayNonceRepository } from '../../src/repositories/replay-nonce.repository.ts';
import { createTestContext, describeOnEachDatabase, type TestContext } from '../helpers/test-context.ts';

describeOnEachDatabase('nonce replay store', (kind) => {
  let context: TestContext;
  let nonces: NonceService;
  const seconds = () => Math.floor(context.clock.nowMs() / 1000);
  beforeAll(async () => {
    context = await createTestContext(kind);
    nonces = new NonceService(context.database.db, context.clock);
  });
  afterAll(() => context?.close());

  it('accepts a nonce once per scope and refuses it again inside the window', async () => {
    expect(await nonces.rememberNonce('v3:1900000001', 'n-1', seconds())).toBe(true);
    expect(await nonces.rememberNonce('v3:1900000001', 'n-1', seconds())).toBe(false);
    expect(await nonces.rememberNonce('v3:1900000002', 'n-1', seconds())).toBe(true);
    context.clock.advance(299_000);
    expect(await nonces.rememberNonce('v3:1900000001', 'n-1', seconds())).toBe(false);
  });

  it('keeps a nonce as long as its timestamp is acceptable, and frees it after', async () => {
    const timestamp = seconds();
    expect(await nonces.rememberNonce('scope-a', 'n-2', timestamp)).toBe(true);
    // Still inside "timestamp + 300 s" (the window is inclusive to the second).
    context.clock.set(timestamp * 1000 + 300_999);
    expect(await nonces.rememberNonce('scope-a', 'n-2', timestamp)).toBe(false);
    // From here the timestamp is stale anyway, so the nonce may be used again with a fresh timestamp.
    context.clock.set(timestamp * 1000 + 301_000);
    expect(await nonces.rememberNonce('scope-a', 'n-2', seconds())).toBe(true);
    expect(await nonces.rememberNonce('scope-a', 'n-2', seconds())).toBe(false);
  });

  it('keeps a nonce with a future timestamp until that timestamp leaves the window', async () => {
    const future = seconds() + 300;
    expect(await nonces.rememberNonce('scope-b', 'n-3', future)).toBe(true);
    context.clock.advance(599_000);
    expect(await nonces.rememberNonce('scope-b', 'n-3', future)).toBe(false);
  });

  it('lets exactly one of many concurrent identical messages through', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => nonces.rememberNonce('scope-c', 'race', seconds())));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('purges only expired nonces', async () => {
    await nonces.purgeExpired();
    const before = await replayNonceRepository.count(context.database.db);
    await nonces.rememberNonce('scope-d', 'fresh', seconds());
    context.clock.advance(302_000);
    await nonces.rememberNonce('scope-d', 'newer', seconds());
    const purged = await nonces.purgeExpired();
    expect(purged).toBeGreaterThanOrEqual(1);
    expect(await replayNonceRepository.count(context.database.db)).toBe(1);
    expect(before).toBeGreaterThan(0);
    expect(await nonces.rememberNonce('scope-d', 'newer', seconds())).toBe(false);
  });
});
