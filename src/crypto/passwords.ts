import { hash, verify } from '@node-rs/argon2';

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

export class PasswordHasher {
  constructor(private readonly cost: PasswordHashingCost = productionHashingCost) {}

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: argon2id, ...this.cost });
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }
}
