import pg from 'pg';

export const postgresTestUrl = process.env.PAYTHROUGH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Set by .ci/run: a missing PostgreSQL fails the run instead of skipping its tests. */
export const postgresRequired = process.env.PAYTHROUGH_REQUIRE_POSTGRES === '1';

let reachable: Promise<boolean> | undefined;

export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: postgresTestUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/** Creates an empty schema for one test context; returns its name and a function that drops it. */
export async function createPostgresSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: postgresTestUrl });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  return {
    schema,
    drop: async () => {
      const dropper = new pg.Client({ connectionString: postgresTestUrl });
      await dropper.connect();
      await dropper.query(`drop schema if exists ${schema} cascade`);
      await dropper.end();
    },
  };
}
