import type { DatabaseClient } from '../../db/schema.ts';
import { configGenerationRepository } from '../../repositories/config-generation.repository.ts';

/** Past this many entries the cache starts over (mini programs × a few entries each; a bound, not a tuning knob). */
const maxEntries = 20_000;

/**
 * What the gateway reads on every request but changes once a week — merchant keys, payment accounts with their gate,
 * teams, superapps, platform keys — kept in memory and dropped whole when the configuration generation moves
 * (migration 0025: triggers raise it with every change to those tables, on any instance). A request reads the
 * generation once and passes it along, so each request costs one cheap read instead of a dozen.
 *
 * Safe by ordering: a value is loaded only after the generation it is filed under was read, so a cached value is never
 * older than its generation; a load that finishes after the generation moved on is not kept.
 */
export class ConfigCache {
  private generation = -1;
  private readonly entries = new Map<string, Promise<unknown>>();

  constructor(private readonly db: DatabaseClient) {}

  /** The generation now: one read of one row. */
  currentGeneration(): Promise<number> {
    return configGenerationRepository.current(this.db);
  }

  /**
   * The value under `key` at `generation` (read by the caller before this call; read here when not given), loading it
   * with `load` when it is not cached. A load that fails or finds nothing is not kept: anybody can ask for what is not.
   */
  async get<T>(key: string, load: () => Promise<T>, generation?: number): Promise<T> {
    const at = generation ?? (await this.currentGeneration());
    if (at > this.generation) {
      this.entries.clear();
      this.generation = at;
    }
    // A request holding an older generation than the cache's loads for itself and leaves the cache alone.
    if (at < this.generation) return load();
    const cached = this.entries.get(key) as Promise<T> | undefined;
    if (cached) return cached;
    const loading = load();
    if (this.entries.size >= maxEntries) this.entries.clear();
    this.entries.set(key, loading);
    const forget = () => {
      if (this.entries.get(key) === loading) this.entries.delete(key);
    };
    loading.then((value) => value === undefined && forget(), forget);
    return loading;
  }
}
