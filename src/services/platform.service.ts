import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Clock } from '../domain/clock.ts';
import { newId } from '../domain/ids.ts';
import { settingRepository } from '../repositories/setting.repository.ts';

const platformIdKey = 'platform.id';

/** The deployment itself: its id is minted once and never changes. */
export class PlatformService {
  private cachedId: string | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async id(): Promise<string> {
    this.cachedId ??= await settingRepository.putIfAbsent(this.db, platformIdKey, newId('plat', this.clock.nowMs()));
    return this.cachedId;
  }
}
