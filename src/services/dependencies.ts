import type { Kysely } from 'kysely';
import type { Config } from '../config/config.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../domain/clock.ts';

/** What services are built from; each service takes only what it uses. */
export interface ServiceDependencies {
  db: Kysely<Database>;
  clock: Clock;
  secretBox: SecretBox;
  passwordHasher: PasswordHasher;
  config: Config;
}
