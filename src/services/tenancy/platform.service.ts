import type { Executor, DatabaseClient } from '../../db/schema.ts';
import type { Clock } from '../../domain/clock.ts';
import { newId } from '../../domain/ids.ts';
import { settingRepository } from '../../repositories/setting.repository.ts';

const platformIdKey = 'platform.id';

/** The platform's id, minted once per deployment and never changed. */
export function ensurePlatformId(db: Executor, clock: Clock): Promise<string> {
  return settingRepository.putIfAbsent(db, platformIdKey, newId('plat', clock.nowMs()));
}

/** The deployment itself. */
export class PlatformService {
  private cachedId: string | undefined;

  constructor(
    private readonly db: DatabaseClient,
    private readonly clock: Clock,
  ) {}

  async id(): Promise<string> {
    this.cachedId ??= await ensurePlatformId(this.db, this.clock);
    return this.cachedId;
  }
}
