import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.ts';
import { PasswordHasher, testHashingCost, type Argon2 } from './passwords.ts';

/** An argon2 whose computations stay open until the test finishes them, counting how many run at once. */
function heldArgon2() {
  const open: (() => void)[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const hold = <T>(value: T) =>
    new Promise<T>((resolve) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      open.push(() => {
        running -= 1;
        resolve(value);
      });
    });
  const argon2: Argon2 = {
    hash: (password) => hold(`hash:${password}`),
    verify: (passwordHash, password) => hold(passwordHash === `hash:${password}`),
  };
  return {
    argon2,
    get running() {
      return running;
    },
    get mostAtOnce() {
      return mostAtOnce;
    },
    /** Finishes the oldest open computation and lets its caller and the next in line move. */
    async finishOne() {
      open.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PasswordHasher bounds its argon2 work', () => {
  it('runs at most `concurrency` computations, queues up to `queue` verifications and refuses the next at once', async () => {
    const argon2 = heldArgon2();
    const hasher = new PasswordHasher(testHashingCost, { concurrency: 2, queue: 3 }, argon2.argon2);
    const accepted = Array.from({ length: 5 }, (_, i) => hasher.verify('hash:right', i === 4 ? 'right' : `wrong ${i}`));
    await settle();
    expect([argon2.running, hasher.load.waiting]).toEqual([2, 3]);

    const refused = await hasher.verify('hash:right', 'right').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'ServerBusy', httpStatus: 503, details: { retryAfterSeconds: 1 } });
    // A new password's hash (an administrator's or a verified user's act) waits rather than being refused.
    const hashed = hasher.hash('new password');

    while (argon2.running > 0) await argon2.finishOne();
    expect(await Promise.all(accepted)).toEqual([false, false, false, false, true]);
    expect(await hashed).toBe('hash:new password');
    expect(argon2.mostAtOnce).toBe(2);
    expect(hasher.load).toEqual({ running: 0, waiting: 0 });
  });

  it('takes verifications again once the queue drains, and serves the queue in order', async () => {
    const argon2 = heldArgon2();
    const hasher = new PasswordHasher(testHashingCost, { concurrency: 1, queue: 1 }, argon2.argon2);
    const finished: string[] = [];
    const first = hasher.verify('hash:a', 'a').then(() => finished.push('first'));
    const second = hasher.verify('hash:b', 'b').then(() => finished.push('second'));
    await settle();
    await expect(hasher.verify('hash:c', 'c')).rejects.toMatchObject({ code: 'ServerBusy' });
    await argon2.finishOne();
    const third = hasher.verify('hash:c', 'c').then(() => finished.push('third'));
    await settle();
    await expect(hasher.verify('hash:d', 'd')).rejects.toMatchObject({ code: 'ServerBusy' });
    await argon2.finishOne();
    await argon2.finishOne();
    await Promise.all([first, second, third]);
    expect(finished).toEqual(['first', 'second', 'third']);
    expect(argon2.mostAtOnce).toBe(1);
  });

  it('hashes and verifies with real argon2id by default', async () => {
    const hasher = new PasswordHasher(testHashingCost);
    const hash = await hasher.hash('correct horse battery');
    expect(hash.startsWith('$argon2id$')).toBe(true);
    expect(await hasher.verify(hash, 'correct horse battery')).toBe(true);
    expect(await hasher.verify(hash, 'wrong')).toBe(false);
    expect(await hasher.verify('not a hash', 'wrong')).toBe(false);
  });
});
