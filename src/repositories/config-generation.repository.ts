import { CompiledQuery } from 'kysely';
import type { Executor } from '../db/schema.ts';

// Written once for both dialects (no parameters): the gateway reads it on every request, and Kysely's compiling
// would cost more than running it.
const readGeneration = CompiledQuery.raw('select generation from config_generation where id = 1') as CompiledQuery<{
  generation: number | string;
}>;

export const configGenerationRepository = {
  /** The configuration generation now (raised by triggers with every change to a cached table). */
  async current(db: Executor): Promise<number> {
    const row = (await db.executeQuery(readGeneration)).rows[0];
    if (!row) throw new Error('config_generation has no row: run the migrations');
    return Number(row.generation);
  },
};
