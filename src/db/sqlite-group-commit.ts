import type SQLite from 'better-sqlite3';
import {
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  SelectQueryNode,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type SqliteDatabase,
} from 'kysely';

/** How long a group waits for another process's write lock before its statement fails (what busy_timeout was). */
const writeLockTimeoutMs = 5_000;

/**
 * SQLite with group commit. Every commit costs SQLite a write of each page it changed (an order touches its table and
 * some twenty index pages); the gateway commits several times per request, and concurrent requests change the same
 * hot pages. So transactions and writes that arrive within one turn of the event loop share one SQLite transaction
 * (BEGIN IMMEDIATE … COMMIT in the loop's check phase), each inside its own savepoint, and each caller is answered
 * only once that COMMIT succeeded: what a caller saw, read or wrote is durable before it goes on, as with a commit
 * per transaction. A failed COMMIT fails every caller of the group (nothing of it was kept); a transaction that
 * rolls back rolls back its savepoint only.
 */
export class GroupCommitSqliteDialect implements Dialect {
  constructor(
    private readonly connection: SQLite.Database,
    private readonly statements: SqliteDatabase,
  ) {}

  createDriver(): Driver {
    return new GroupCommitDriver(this.connection, this.statements);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}

interface Group {
  committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/** One lock on the one connection, handed out in the order asked for. */
class ConnectionLock {
  private tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    return release;
  }
}

const savepoint = 'paythrough_transaction';

class GroupCommitDriver implements Driver {
  readonly lock = new ConnectionLock();
  private group: Group | undefined;

  constructor(
    private readonly connection: SQLite.Database,
    private readonly statements: SqliteDatabase,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Lease(this, await this.lock.acquire());
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    await lease.hold();
    await this.joinGroup();
    this.run(`savepoint ${savepoint}`);
    lease.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    this.run(`release ${savepoint}`);
    lease.inTransaction = false;
    await lease.untilDurable();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    this.run(`rollback to ${savepoint}`);
    this.run(`release ${savepoint}`);
    lease.inTransaction = false;
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as Lease).letGo();
  }

  async destroy(): Promise<void> {
    const release = await this.lock.acquire();
    try {
      this.commitGroup();
      this.connection.close();
    } finally {
      release();
    }
  }

  /** The group open now, if any: what a statement run now becomes part of. */
  get openGroup(): Group | undefined {
    return this.group;
  }

  run(text: string): void {
    this.statements.prepare(text).run([]);
  }

  /** Whether the statement only reads (better-sqlite3 knows from preparing it). */
  isReader(compiledQuery: CompiledQuery): boolean {
    return this.statements.prepare(compiledQuery.sql).reader;
  }

  executeRows(compiledQuery: CompiledQuery): IterableIterator<unknown> {
    return this.statements.prepare(compiledQuery.sql).iterate(compiledQuery.parameters) as IterableIterator<unknown>;
  }

  /** Commits the open group now (the caller holds the lock): a PRAGMA that sets something has no effect inside one. */
  commitNow(): void {
    this.commitGroup();
  }

  execute(compiledQuery: CompiledQuery): QueryResult<unknown> {
    const statement = this.statements.prepare(compiledQuery.sql);
    if (statement.reader) return { rows: statement.all(compiledQuery.parameters) as unknown[] };
    const { changes, lastInsertRowid } = statement.run(compiledQuery.parameters);
    return {
      numAffectedRows: changes === undefined || changes === null ? undefined : BigInt(changes),
      insertId: lastInsertRowid === undefined || lastInsertRowid === null ? undefined : BigInt(lastInsertRowid),
      rows: [],
    };
  }

  /** Opens a group unless one is open (the caller holds the lock), to commit once the loop's turn is over. */
  async joinGroup(): Promise<void> {
    if (this.group) return;
    await this.beginImmediate();
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const committed = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers that never wait on it (none should) must not make an unhandled rejection of a failed COMMIT.
    committed.catch(() => undefined);
    this.group = { committed, resolve, reject };
    setImmediate(() => void this.commitWhenFree());
  }

  /**
   * Takes the write lock without blocking the event loop: another connection of this process (a second instance in a
   * test) may hold it until its own group commits on a later turn, which a synchronous busy wait would never let come.
   */
  private async beginImmediate(): Promise<void> {
    const deadline = Date.now() + writeLockTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      this.connection.pragma('busy_timeout = 0');
      try {
        this.run('begin immediate');
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      } finally {
        this.connection.pragma(`busy_timeout = ${writeLockTimeoutMs}`);
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async commitWhenFree(): Promise<void> {
    const release = await this.lock.acquire();
    try {
      this.commitGroup();
    } finally {
      release();
    }
  }

  private commitGroup(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.run('commit');
      group.resolve();
    } catch (error) {
      try {
        this.run('rollback');
      } catch {
        // The transaction is gone already.
      }
      group.reject(error);
    }
  }
}

/** One acquisition of the connection: queries run while it holds the lock; it lets go before waiting for a COMMIT. */
class Lease implements DatabaseConnection {
  inTransaction = false;

  constructor(
    private readonly driver: GroupCommitDriver,
    private release: (() => void) | undefined,
  ) {}

  /** Takes the lock again if this lease let go of it (a connection scope used after a commit). */
  async hold(): Promise<void> {
    if (!this.release) this.release = await this.driver.lock.acquire();
  }

  letGo(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  /** Lets others use the connection, then waits until what this lease did is committed. */
  async untilDurable(): Promise<void> {
    const group = this.driver.openGroup;
    this.letGo();
    if (group) await group.committed;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    await this.hold();
    if (this.inTransaction) return this.driver.execute(compiledQuery) as QueryResult<R>;
    const reader = this.driver.isReader(compiledQuery);
    if (!reader && /^\s*pragma\b/i.test(compiledQuery.sql)) {
      this.driver.commitNow();
      return this.driver.execute(compiledQuery) as QueryResult<R>;
    }
    // A write on its own joins the group like a transaction; a read sees what the group holds so far.
    if (!reader && !this.driver.openGroup) await this.driver.joinGroup();
    const result = this.driver.execute(compiledQuery) as QueryResult<R>;
    await this.untilDurable();
    return result;
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    await this.hold();
    if (!SelectQueryNode.is(compiledQuery.query)) throw new Error('SQLite streams only select queries');
    for (const row of this.driver.executeRows(compiledQuery)) yield { rows: [row as R] };
  }
}
