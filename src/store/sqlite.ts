/**
 * The few better-sqlite3 calls the store uses, typed here (the package ships no TypeScript types and the store needs
 * only this much), plus the loader. better-sqlite3 is synchronous: every call runs to completion on this thread.
 */
import { createRequire } from "node:module";

/** What `Statement.run` reports. */
export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
  /** Rowid of the last inserted row. */
  lastInsertRowid: number | bigint;
}

/** Bound parameters: positional values or one object of named values (`@name` in the SQL). */
export type BindParams = unknown[];

/** A prepared statement. */
export interface Statement {
  run(...params: BindParams): RunResult;
  get(...params: BindParams): unknown;
  all(...params: BindParams): unknown[];
}

/** A function wrapped in a transaction; `.immediate` takes the write lock at BEGIN (BEGIN IMMEDIATE). */
export interface Transaction<F extends (...args: never[]) => unknown> {
  (...args: Parameters<F>): ReturnType<F>;
  deferred(...args: Parameters<F>): ReturnType<F>;
  immediate(...args: Parameters<F>): ReturnType<F>;
  exclusive(...args: Parameters<F>): ReturnType<F>;
}

/** An open SQLite connection. */
export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): Database;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F>;
  close(): void;
  readonly open: boolean;
  readonly inTransaction: boolean;
}

/** Options of the better-sqlite3 constructor that the store uses. */
export interface DatabaseOptions {
  /** Open read-only. */
  readonly?: boolean;
  /** Fail instead of creating a missing file. */
  fileMustExist?: boolean;
  /** busy_timeout in milliseconds: how long a statement waits for another connection's lock. */
  timeout?: number;
}

type DatabaseConstructor = new (file: string, options?: DatabaseOptions) => Database;

let ctor: DatabaseConstructor | undefined;

/** Opens (or creates) a SQLite database file with better-sqlite3. */
export function openDatabase(file: string, options: DatabaseOptions = {}): Database {
  ctor ??= createRequire(import.meta.url)("better-sqlite3") as DatabaseConstructor;
  return new ctor(file, options);
}

/** The SQLite result code of an error thrown by better-sqlite3 (e.g. "SQLITE_BUSY"), or undefined for other errors. */
export function sqliteCode(e: unknown): string | undefined {
  if (e instanceof Error && e.name === "SqliteError") {
    const code = (e as Error & { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** Whether an error means another connection holds a lock we waited for in vain (SQLITE_BUSY / SQLITE_LOCKED, any subcode). */
export function isBusyError(e: unknown): boolean {
  const code = sqliteCode(e);
  return code !== undefined && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}
