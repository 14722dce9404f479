import { hash, verify } from '@node-rs/argon2';
import { AppError } from '../domain/errors.ts';

// Algorithm.Argon2id in @node-rs/argon2's const enum.
const argon2id = 2;

export interface PasswordHashingCost {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

/** OWASP's argon2id baseline (19 MiB, 2 passes). */
export const productionHashingCost: PasswordHashingCost = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
/** Fast parameters for test factories only; never used by the server. */
export const testHashingCost: PasswordHashingCost = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

/** The argon2 functions the hasher runs (tests substitute their own to hold verifications open). */
export interface Argon2 {
  hash(password: string, cost: PasswordHashingCost): Promise<string>;
  verify(passwordHash: string, password: string): Promise<boolean>;
}

const nodeArgon2: Argon2 = {
  hash: (password, cost) => hash(password, { algorithm: argon2id, ...cost }),
  verify: (passwordHash, password) => verify(passwordHash, password),
};

export interface PasswordWorkLimits {
  /** argon2 computations running at once (each holds a libuv worker thread and `memoryCost` KiB). */
  concurrency: number;
  /** Verifications that may wait for a free slot; past this one is refused at once. */
  queue: number;
}

/** Two at a time leave libuv's other threads to file and DNS work; 32 waiting is well under a second of work. */
export const defaultPasswordWorkLimits: PasswordWorkLimits = { concurrency: 2, queue: 32 };

export const passwordHasherBusyMessage = 'The server is busy checking passwords; retry in a moment';

/**
 * argon2id hashing and verification with bounded work: at most `concurrency` computations run, and at most
 * `queue` verifications wait; a verification beyond that is refused at once (ServerBusy) rather than queued,
 * so a flood of password guesses cannot delay everyone's sign-in without limit. Hashing a new password (an
 * administrator's or a verified user's act, never an anonymous one) waits without being refused.
 */
export class PasswordHasher {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly waitingVerifications = new Set<() => void>();

  constructor(
    private readonly cost: PasswordHashingCost = productionHashingCost,
    private readonly limits: PasswordWorkLimits = defaultPasswordWorkLimits,
    private readonly argon2: Argon2 = nodeArgon2,
  ) {}

  /** Computations running and verifications waiting, for tests and metrics. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  hash(password: string): Promise<string> {
    return this.withSlot(false, () => this.argon2.hash(password, this.cost));
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    return this.withSlot(true, async () => {
      try {
        return await this.argon2.verify(passwordHash, password);
      } catch {
        return false;
      }
    });
  }

  private async withSlot<T>(refusable: boolean, work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limits.concurrency) {
      if (refusable && this.waitingVerifications.size >= this.limits.queue) {
        throw new AppError('ServerBusy', passwordHasherBusyMessage, { retryAfterSeconds: 1 });
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waitingVerifications.delete(wake);
          resolve();
        };
        if (refusable) this.waitingVerifications.add(wake);
        this.waiting.push(wake);
      });
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, so a newcomer cannot overtake the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
