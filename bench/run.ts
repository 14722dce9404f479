// `npm run bench -- <name> [options]`: runs bench/<name>.bench.ts, which prints JSON lines
// {"bench", "metric", "value", "unit"} on stdout (and a human summary on stderr).

export {};

const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  gateway: () => import('./gateway.bench.ts'),
  // Issue 5: fill a database with N orders and refunds, then time the record lists, searches and exports.
  'seed-records': () => import('./seed-records.ts'),
  records: () => import('./records.ts'),
  // Issue 7: a fixed-rate open-loop mix against `paythrough start` child processes (SQLite, PostgreSQL x1/x2).
  load: () => import('./load.ts'),
  // Issue 14: a day's statement of N lines read and matched by the real reconciliation (SQLite, or BENCH_DATABASE_URL).
  reconciliation: () => import('./reconciliation.bench.ts'),
  // Issue 15: prepay, queries, refunds and a notification burst against a minimal correct server (the floor), as ratios.
  'money-path': () => import('./money-path.bench.ts'),
  // Issue 15: N paid-order notifications to a local receiver (a backlog drained, then a burst of payments).
  'notify-burst': () => import('./notify-burst.ts'),
};

const [name, ...args] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  process.stderr.write(`Usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]\n`);
  process.exit(name ? 2 : 0);
}
const bench = await load();
await bench.run(args);
