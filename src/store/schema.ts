/**
 * The lab database's schema and its migrations. `meta.schemaVersion` records the version a lab was last written
 * with; opening an older lab applies the missing migrations in one transaction, opening a newer one is refused
 * (this build cannot know what the newer tables mean).
 */
import { LabError } from "./errors.js";
import type { Database } from "./sqlite.js";

/** One step of the schema: the SQL that takes a lab from `version - 1` to `version`. */
export interface Migration {
  version: number;
  about: string;
  sql: string;
}

/** Every migration, in order. The schema version this build writes is the last one's. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    about: "sweeps, runs and per-step metrics",
    sql: `
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE sweeps (
        name TEXT PRIMARY KEY,
        plan TEXT,
        ladder TEXT,
        spec TEXT NOT NULL DEFAULT '{}',
        created TEXT NOT NULL
      );
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        sweep TEXT REFERENCES sweeps(name),
        name TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'running', 'done', 'failed', 'stopped')),
        config TEXT NOT NULL,
        nLayer INTEGER NOT NULL,
        nHead INTEGER NOT NULL,
        nEmbd INTEGER NOT NULL,
        blockSize INTEGER NOT NULL,
        vocabSize INTEGER NOT NULL,
        params INTEGER NOT NULL,
        N INTEGER NOT NULL,
        D INTEGER NOT NULL,
        C REAL NOT NULL,
        tokensDone INTEGER NOT NULL DEFAULT 0,
        flopsDone REAL NOT NULL DEFAULT 0,
        finalTrainLoss REAL,
        finalValLoss REAL,
        bestValLoss REAL,
        seed INTEGER,
        backend TEXT,
        machine TEXT,
        error TEXT,
        created TEXT NOT NULL,
        started TEXT,
        ended TEXT,
        wallSeconds REAL,
        dir TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX runs_by_sweep ON runs(sweep, status);
      CREATE TABLE metrics (
        runId TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        tokens INTEGER,
        flops REAL,
        lr REAL,
        trainLoss REAL,
        valLoss REAL,
        gradNorm REAL,
        elapsed REAL,
        tokensPerSec REAL,
        PRIMARY KEY (runId, step)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    about: "few-shot eval results; attempts and heartbeat per run (resumes, stale claims)",
    sql: `
      ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE runs ADD COLUMN heartbeat TEXT;
      CREATE TABLE evals (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        task TEXT NOT NULL,
        shots INTEGER NOT NULL,
        n INTEGER NOT NULL,
        accuracy REAL,
        meanLogLik REAL,
        created TEXT NOT NULL,
        extra TEXT NOT NULL DEFAULT '{}',
        UNIQUE (model, task, shots, n)
      );
    `,
  },
  {
    version: 3,
    about: "cooled-down endpoints per run (final and WSD branches); one stored analysis per sweep",
    sql: `
      CREATE TABLE endpoints (
        runId TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        tokens INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('final', 'branch')),
        step INTEGER NOT NULL,
        flops REAL NOT NULL,
        valLoss REAL,
        trainLoss REAL,
        PRIMARY KEY (runId, tokens)
      ) WITHOUT ROWID;
      CREATE TABLE analyses (
        sweep TEXT PRIMARY KEY REFERENCES sweeps(name) ON DELETE CASCADE,
        created TEXT NOT NULL,
        version TEXT NOT NULL,
        result TEXT NOT NULL
      );
    `,
  },
];

/** The schema version this build reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * The schema version stored in a database: 0 for an empty database, the stored number otherwise.
 * Throws LabError("not-a-lab") for a database that has tables but no scaling-lab meta table.
 */
export function storedVersion(db: Database, file: string): number {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  if (tables.length === 0) return 0;
  if (!tables.some((t) => t.name === "meta")) {
    throw new LabError("not-a-lab", `${file} is a SQLite database but not a scaling-lab lab (no meta table); point --lab at another directory`);
  }
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schemaVersion'").get() as { value: string } | undefined;
  const v = row ? Number(row.value) : NaN;
  if (!Number.isInteger(v) || v < 0) {
    throw new LabError("not-a-lab", `${file} has no valid schemaVersion in its meta table; point --lab at another directory`);
  }
  return v;
}

/** The one-line refusal for a lab written by a newer scaling-lab. */
export function newerVersionError(file: string, version: number): LabError {
  return new LabError(
    "newer-version",
    `the lab ${file} was written by a newer scaling-lab (schema version ${version}; this one reads up to ${SCHEMA_VERSION}); upgrade scaling-lab (npm install scaling-lab@latest) or use another --lab`,
  );
}

/**
 * Brings a database up to `target` (default {@link SCHEMA_VERSION}) inside one BEGIN IMMEDIATE transaction, so two
 * processes opening a fresh lab at once cannot both create it. Returns the version found before migrating.
 * Throws LabError("newer-version") when the database is newer than this build.
 */
export function migrate(db: Database, file: string, target: number = SCHEMA_VERSION): number {
  const run = db.transaction(() => {
    const from = storedVersion(db, file);
    if (from > SCHEMA_VERSION) throw newerVersionError(file, from);
    for (const m of MIGRATIONS) {
      if (m.version > from && m.version <= target) db.exec(m.sql);
    }
    if (target > from) {
      db.prepare("INSERT INTO meta (key, value) VALUES ('schemaVersion', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
        String(target),
      );
      db.prepare("INSERT INTO meta (key, value) VALUES ('migratedAt', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
        new Date().toISOString(),
      );
    }
    return from;
  });
  return run.immediate();
}
