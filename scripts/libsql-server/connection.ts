// Owns one engine connection of one stream: opening it with the server's pragmas, the SQL texts the
// client stored on the stream, change counters, waiting out lock contention, readying it for reuse by
// another stream, and closing (which rolls back whatever transaction the client left open).
import Database from "libsql";
import { isAnyBusy, isBusy, SqlError } from "./sql-errors.ts";
import { firstWord } from "./sql-text.ts";

// Statements that change connection state a later stream would inherit (pragmas, attachments).
const statefulWords = new Set(["PRAGMA", "ATTACH", "DETACH"]);

/** sqld's cap on SQL texts stored per stream. */
const maxStoredSql = 150;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Connection {
  readonly #db: Database.Database;
  readonly #sqls = new Map<number, string>();
  #readOnlyTransaction = false;
  #stateful = false;
  /** How long a statement may wait for another stream's write lock before SQLITE_BUSY is answered. */
  readonly #busyWaitMs: number;
  readonly #totalChanges: Database.Statement;
  readonly #counters: Database.Statement;

  constructor(path: string, busyWaitMs: number) {
    this.#busyWaitMs = busyWaitMs;
    // busy_timeout stays 0: the engine is synchronous, so waiting inside it would block the event loop
    // and with it the very stream that holds the lock. `retrying` waits asynchronously instead.
    this.#db = new Database(path, { timeout: 0 });
    this.#db.exec("PRAGMA busy_timeout = 0; PRAGMA foreign_keys = ON;");
    this.#totalChanges = this.#db.prepare("SELECT total_changes()").safeIntegers(true).raw(true);
    this.#counters = this.#db
      .prepare("SELECT changes(), total_changes(), last_insert_rowid()")
      .safeIntegers(true);
    this.#counters.raw(true);
  }

  /** The engine connection; refuses once the stream is closed (expired, or the server shut down). */
  get db(): Database.Database {
    if (!this.#db.open) throw new SqlError("STREAM_CLOSED", "The stream is closed.");
    return this.#db;
  }

  get isAutocommit(): boolean {
    return !this.db.inTransaction;
  }

  totalChanges(): bigint {
    return (this.#totalChanges.get() as [bigint])[0];
  }

  /** changes() and last_insert_rowid() of the statement just run, and total_changes() after it. */
  counters(): { changes: bigint; total: bigint; lastInsertRowid: bigint } {
    const [changes, total, lastInsertRowid] = this.#counters.get() as [bigint, bigint, bigint];
    return { changes, total, lastInsertRowid };
  }

  /** Notes a statement about to run, to know whether the connection can serve another stream. */
  noteStatement(sql: string): void {
    if (statefulWords.has(firstWord(sql))) this.#stateful = true;
  }

  /**
   * Readies the connection for another stream: true if it holds nothing of this one (no transaction,
   * no pragma or attachment changed, no TEMP objects), after forgetting the stored SQL texts. A
   * connection that cannot be reused is closed. Reuse spares each stream SQLite's schema parse.
   */
  recycle(): boolean {
    if (!this.#db.open) return false;
    const clean =
      !this.#stateful &&
      !this.#readOnlyTransaction &&
      !this.#db.inTransaction &&
      (this.#db.prepare("SELECT count(*) FROM sqlite_temp_master").raw(true).get() as [number])[0] === 0;
    if (!clean) {
      this.close();
      return false;
    }
    this.#sqls.clear();
    return true;
  }

  /**
   * Starts what libSQL calls `BEGIN TRANSACTION READONLY` (client.transaction("read")): SQLite has no
   * such statement, so it is a deferred transaction with writes refused until it ends.
   */
  beginReadOnly(): void {
    this.db.exec("BEGIN DEFERRED");
    this.db.exec("PRAGMA query_only = 1");
    this.#readOnlyTransaction = true;
  }

  /** Lifts the read-only guard once its transaction has ended (commit, rollback or an abort). */
  settleReadOnly(): void {
    if (!this.#readOnlyTransaction || !this.#db.open || this.#db.inTransaction) return;
    this.#db.exec("PRAGMA query_only = 0");
    this.#readOnlyTransaction = false;
  }

  storeSql(id: number, sql: string): void {
    if (this.#sqls.has(id)) throw new SqlError("SQL_STORE_CONFLICT", `SQL text ${id} is already stored.`);
    if (this.#sqls.size >= maxStoredSql) {
      throw new SqlError("SQL_STORE_TOO_MANY", `A stream stores at most ${maxStoredSql} SQL texts.`);
    }
    this.#sqls.set(id, sql);
  }

  closeSql(id: number): void {
    this.#sqls.delete(id);
  }

  /** The SQL text a request names, inline or by the id of a stored text (exactly one of them). */
  resolveSql(sql: string | undefined, sqlId: number | undefined): string {
    if (sql !== undefined && sqlId !== undefined) {
      throw new SqlError("SQL_INPUT_ERROR", "A statement names both sql and sql_id.");
    }
    if (sql !== undefined) return sql;
    if (sqlId === undefined)
      throw new SqlError("SQL_INPUT_ERROR", "A statement names neither sql nor sql_id.");
    const stored = this.#sqls.get(sqlId);
    if (stored === undefined) throw new SqlError("SQL_NOT_FOUND", `No SQL text is stored under id ${sqlId}.`);
    return stored;
  }

  /**
   * Runs `work` (one step of one prepared statement), again while another stream holds the lock,
   * with a growing pause, for at most busyWaitMs.
   *
   * A statement refused with SQLITE_BUSY is left mid-flight by the binding (it cannot be reset from
   * here), and while it is, later autocommit writes of this connection never commit. So when the
   * wait gives up, or the refusal is a stale snapshot (SQLITE_BUSY_SNAPSHOT, which waiting cannot
   * cure), the connection is closed (rolling back) and the stream answers STREAM_CLOSED from then on.
   */
  async retrying<T>(work: () => T): Promise<T> {
    const deadline = Date.now() + this.#busyWaitMs;
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      try {
        return work();
      } catch (error) {
        if (!isAnyBusy(error)) throw error;
        if (!isBusy(error) || Date.now() + pause > deadline) {
          this.close();
          throw error;
        }
      }
      await sleep(pause);
    }
  }

  close(): void {
    if (!this.#db.open) return;
    try {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
    } catch {
      // Closing rolls back too; ROLLBACK first only releases the write lock sooner.
    } finally {
      this.#db.close();
    }
  }
}
