import { postgresReachable, postgresRequired, postgresTestUrl } from './postgres.ts';

/** Says once, clearly, whether the PostgreSQL half of the suite runs. */
export default async function globalSetup() {
  const reachable = await postgresReachable();
  if (reachable) return;
  if (postgresRequired) {
    throw new Error(`PostgreSQL is required (PAYTHROUGH_REQUIRE_POSTGRES=1) but ${postgresTestUrl} does not answer`);
  }
  process.stderr.write(
    `\n[paythrough] PostgreSQL at ${postgresTestUrl} does not answer: PostgreSQL tests are SKIPPED (SQLite tests run).\n\n`,
  );
}
