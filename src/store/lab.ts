/**
 * The lab: one directory holding `lab.sqlite` (sweeps, runs, per-step metrics, eval results) next to `runs/<id>/`,
 * the run folders with metrics.jsonl and checkpoints. Several processes may write one lab at once: the database is
 * in WAL mode, every statement waits up to a busy timeout for another writer's lock, and every read-modify-write
 * runs in a BEGIN IMMEDIATE transaction. A lock still held after the timeout is a one-line LabError("locked").
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import os from "node:os";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { LabError } from "./errors.js";
import { readRunFolder } from "./folder.js";
import {
  type EvalSqlRow, type MetricSqlRow, type RunSqlRow, type SweepSqlRow, checkId, checkStatuses, deriveColumns, envBusyTimeout, now, num, sleepMs,
  toEval, toMetric, toRun, toSweep,
} from "./rows.js";
import { SCHEMA_VERSION, migrate, newerVersionError, storedVersion } from "./schema.js";
import { type Database, isBusyError, openDatabase, sqliteCode, type Statement } from "./sqlite.js";
import {
  type AnalysisRecord,
  type EndpointRecord,
  type EvalInput,
  type EvalRecord,
  type ExternalRunInput,
  type ExternalRunsResult,
  type FinishInput,
  type FitPoint,
  type LossKind,
  type MetricRecord,
  type ModelShape,
  type PlanRunInput,
  RUN_STATUSES,
  type RunAccounting,
  type RunnerInfo,
  type RunRecord,
  type RunStatus,
  type SweepInput,
  type SweepRecord,
} from "./types.js";

/** The lab directory used when none is given. */
export const DEFAULT_LAB_DIR = "./lab";
/** The database file's name inside the lab directory. */
export const LAB_DB_FILE = "lab.sqlite";
/** How long a write waits for another process's lock before failing, by default (ms). */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

/** Options of {@link openLab}. */
export interface OpenLabOptions {
  /** Create the directory and database when missing (default true; false → LabError("not-found")). */
  create?: boolean;
  /** Open read-only (never creates or migrates; for dashboards and reports). Default false. */
  readonly?: boolean;
  /**
   * busy_timeout in ms: how long a statement waits for another process's lock. Default: the environment variable
   * SCALING_LAB_BUSY_TIMEOUT_MS if set, else 10,000.
   */
  busyTimeoutMs?: number;
}

/** Filters of {@link Lab.listRuns}. */
export interface RunFilter {
  sweep?: string;
  status?: RunStatus | RunStatus[];
}

/** Options of {@link Lab.claimRun}. */
export interface ClaimOptions {
  /** Statuses that may be claimed. Default ["planned", "stopped"]. */
  from?: RunStatus[];
  /** Also claim a "running" run whose heartbeat is older than this many seconds (its process likely died). */
  staleAfterSec?: number;
}

/** Options of {@link Lab.frontierPoints} and {@link Lab.runPoints}. */
export interface PointOptions {
  /** Which loss: "val" (default; rows where validation ran) or "train". */
  loss?: LossKind;
  /** Runs of these statuses only. Default: frontierPoints every status but "failed"; runPoints ["done"]. */
  statuses?: RunStatus[];
}

/** Filters of {@link Lab.listEvals}. */
export interface EvalFilter {
  model?: string;
  task?: string;
  /** Only evals whose model is a run of this sweep. */
  sweep?: string;
}

/** Input of {@link Lab.importRunFolder}. */
export interface ImportOptions {
  /** Parameter counts and FLOPs per token of the folder's model (`runAccounting` of src/model/accounting.ts). */
  accounting: (model: ModelShape) => RunAccounting;
  /** Sweep of the run when it is created by the import (must exist). */
  sweep?: string | null;
  /** Name of the run when it is created by the import. */
  name?: string;
}

/** A one-line description of this machine: host, CPU count and model, OS. */
export function describeMachine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.replace(/\s+/g, " ").trim() ?? "unknown CPU";
  return `${os.hostname()} (${cpus.length}× ${model}, ${os.platform()}-${os.arch()})`;
}

/**
 * Opens the lab in `dir` (default ./lab): creates `dir/lab.sqlite` and `dir/runs/` when missing, migrates a lab
 * written by an older scaling-lab, refuses one written by a newer one (LabError "newer-version", which says to
 * upgrade). Close it with {@link Lab.close}.
 */
export function openLab(dir: string = DEFAULT_LAB_DIR, opts: OpenLabOptions = {}): Lab {
  return Lab.open(dir, opts);
}

/** An open lab. Every method is synchronous; errors are {@link LabError}s with one-line messages. */
export class Lab {
  /** Absolute path of the lab directory. */
  readonly dir: string;
  /** Absolute path of lab.sqlite. */
  readonly file: string;
  /** Absolute path of the runs/ folder. */
  readonly runsDir: string;
  /** Whether this connection is read-only. */
  readonly readonly: boolean;
  private readonly db: Database;
  private readonly busyTimeoutMs: number;
  private readonly statements = new Map<string, Statement>();

  private constructor(dir: string, db: Database, readonly: boolean, busyTimeoutMs: number) {
    this.dir = dir;
    this.file = join(dir, LAB_DB_FILE);
    this.runsDir = join(dir, "runs");
    this.db = db;
    this.readonly = readonly;
    this.busyTimeoutMs = busyTimeoutMs;
  }

  /** See {@link openLab}. */
  static open(dirGiven: string, opts: OpenLabOptions = {}): Lab {
    const dir = resolve(dirGiven);
    const file = join(dir, LAB_DB_FILE);
    const readonly = opts.readonly ?? false;
    const create = (opts.create ?? true) && !readonly;
    const busyTimeoutMs = opts.busyTimeoutMs ?? envBusyTimeout() ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      throw new LabError("invalid", `--lab ${dirGiven} is a file, not a directory; pass a directory`);
    }
    if (!existsSync(file)) {
      if (!create) {
        throw new LabError("not-found", `no lab at ${dir} (no ${LAB_DB_FILE}); pass the right --lab DIR or run a sweep there first`);
      }
      mkdirSync(join(dir, "runs"), { recursive: true });
    }
    let db: Database;
    try {
      db = openDatabase(file, { readonly, fileMustExist: !create, timeout: busyTimeoutMs });
    } catch (e) {
      throw new LabError("invalid", `cannot open ${file}: ${(e as Error).message.split("\n")[0]}; check the path and its permissions`);
    }
    const lab = new Lab(dir, db, readonly, busyTimeoutMs);
    try {
      lab.guard(() => lab.init());
    } catch (e) {
      db.close();
      throw e;
    }
    return lab;
  }

  private init(): void {
    const { db, file } = this;
    let version: number;
    try {
      version = storedVersion(db, file);
    } catch (e) {
      if (sqliteCode(e) === "SQLITE_NOTADB") {
        throw new LabError("not-a-lab", `${file} is not a SQLite database; point --lab at another directory`);
      }
      throw e;
    }
    if (version > SCHEMA_VERSION) throw newerVersionError(file, version);
    if (this.readonly) {
      if (version < SCHEMA_VERSION) {
        throw new LabError(
          "invalid",
          `the lab ${file} has schema version ${version} (this scaling-lab uses ${SCHEMA_VERSION}); open it once for writing (e.g. scaling-lab runs --lab ${this.dir}) to migrate it`,
        );
      }
      return;
    }
    // Only a lab that is new or old takes the write lock here, so opening never waits for another process's writes.
    if (db.pragma("journal_mode", { simple: true }) !== "wal") db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    if (version < SCHEMA_VERSION) migrate(db, file);
    mkdirSync(this.runsDir, { recursive: true });
  }

  /** The schema version of this lab (after migration: {@link SCHEMA_VERSION}). */
  schemaVersion(): number {
    return this.guard(() => storedVersion(this.db, this.file));
  }

  /** Closes the database connection. The lab object cannot be used afterwards. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---------------------------------------------------------------- sweeps

  /** Creates the sweep if absent and returns it; an existing sweep is returned unchanged (idempotent by name). */
  ensureSweep(input: SweepInput): SweepRecord {
    checkId(input.name, "sweep name");
    return this.write(() => {
      this.stmt(
        "INSERT INTO sweeps (name, plan, ladder, spec, created) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING",
      ).run(input.name, input.plan ?? null, input.ladder ?? null, JSON.stringify(input.spec ?? {}), now());
      return this.getSweep(input.name)!;
    });
  }

  /** The sweep with this name, or undefined. */
  getSweep(name: string): SweepRecord | undefined {
    return this.guard(() => {
      const row = this.stmt("SELECT * FROM sweeps WHERE name = ?").get(name) as SweepSqlRow | undefined;
      return row ? toSweep(row) : undefined;
    });
  }

  /** All sweeps, oldest first. */
  listSweeps(): SweepRecord[] {
    return this.guard(() => (this.stmt("SELECT * FROM sweeps ORDER BY created, name").all() as SweepSqlRow[]).map(toSweep));
  }

  // ---------------------------------------------------------------- runs

  /**
   * Plans a run: inserts it with status "planned" if no run has this id, and returns the stored run either way
   * (idempotent by id: an existing run, whatever its status and config, is returned unchanged).
   * Shape columns come from `config.model`; params, N and (by default) C from `accounting`.
   */
  planRun(input: PlanRunInput): RunRecord {
    checkId(input.id, "run id");
    const derived = deriveColumns(input);
    return this.write(() => {
      const existing = this.findRun(input.id);
      if (existing) return existing;
      if (input.sweep != null) this.requireSweep(input.sweep);
      this.stmt(
        `INSERT INTO runs (id, sweep, name, status, config, nLayer, nHead, nEmbd, blockSize, vocabSize, params, N, D, C,
           seed, created, dir, extra)
         VALUES (@id, @sweep, @name, 'planned', @config, @nLayer, @nHead, @nEmbd, @blockSize, @vocabSize, @params, @N, @D, @C,
           @seed, @created, @dir, @extra)`,
      ).run({
        id: input.id,
        sweep: input.sweep ?? null,
        name: input.name ?? input.id,
        config: JSON.stringify(input.config),
        ...derived,
        seed: Number.isInteger(input.config.seed) ? input.config.seed : null,
        created: now(),
        dir: input.dir !== undefined ? this.relativeDir(input.dir) : `runs/${input.id}`,
        extra: JSON.stringify(input.extra ?? {}),
      });
      return this.findRun(input.id)!;
    });
  }

  /** The run with this id, or undefined. */
  getRun(id: string): RunRecord | undefined {
    return this.guard(() => this.findRun(id));
  }

  /** Runs, optionally of one sweep and/or some statuses, ordered by sweep, N, D, seed, id. */
  listRuns(filter: RunFilter = {}): RunRecord[] {
    return this.guard(() => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.sweep !== undefined) {
        where.push("sweep = ?");
        params.push(filter.sweep);
      }
      if (filter.status !== undefined) {
        const statuses = checkStatuses(Array.isArray(filter.status) ? filter.status : [filter.status]);
        where.push(`status IN (${statuses.map(() => "?").join(", ")})`);
        params.push(...statuses);
      }
      const sql = `SELECT * FROM runs ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY sweep, N, D, seed, id`;
      return (this.stmt(sql).all(...params) as RunSqlRow[]).map(toRun);
    });
  }

  /**
   * Marks a run as running on this backend and machine (whatever its status): counts an attempt, keeps the first
   * start time, clears `ended` and `error`. Returns the updated run.
   */
  markRunning(id: string, info: RunnerInfo): RunRecord {
    return this.write(() => {
      this.requireRun(id);
      this.setRunning(id, info);
      return this.findRun(id)!;
    });
  }

  /**
   * Atomically claims a run for this process: if its status is in `opts.from` (default planned or stopped), or it
   * is "running" with a heartbeat older than `opts.staleAfterSec`, marks it running (as {@link markRunning}) and
   * returns it; otherwise returns null (another process has it, or it is done). Two processes claiming the same
   * run at once: exactly one gets it.
   */
  claimRun(id: string, info: RunnerInfo, opts: ClaimOptions = {}): RunRecord | null {
    const from = checkStatuses(opts.from ?? ["planned", "stopped"]);
    return this.write(() => {
      const run = this.requireRun(id);
      let claimable = from.includes(run.status);
      if (!claimable && run.status === "running" && opts.staleAfterSec !== undefined) {
        const last = Date.parse(run.heartbeat ?? run.started ?? run.created);
        claimable = !(Date.now() - last < opts.staleAfterSec * 1000);
      }
      if (!claimable) return null;
      this.setRunning(id, info);
      return this.findRun(id)!;
    });
  }

  /**
   * Stores logged steps in one transaction. A step already stored for this run is replaced (a resumed run that
   * re-logs a step overwrites it). Also updates the run's tokensDone/flopsDone (from its latest step), bestValLoss
   * and heartbeat. Returns the number of rows written.
   */
  appendMetrics(id: string, rows: readonly MetricRecord[]): number {
    for (const r of rows) {
      if (!Number.isInteger(r.step) || r.step < 0) {
        throw new LabError("invalid", `metric row for run ${id} has step ${JSON.stringify(r.step)}; steps must be integers ≥ 0`);
      }
    }
    return this.write(() => {
      this.requireRun(id);
      const insert = this.stmt(
        `INSERT INTO metrics (runId, step, tokens, flops, lr, trainLoss, valLoss, gradNorm, elapsed, tokensPerSec)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(runId, step) DO UPDATE SET tokens = excluded.tokens, flops = excluded.flops, lr = excluded.lr,
           trainLoss = excluded.trainLoss, valLoss = excluded.valLoss, gradNorm = excluded.gradNorm,
           elapsed = excluded.elapsed, tokensPerSec = excluded.tokensPerSec`,
      );
      for (const r of rows) {
        insert.run(id, r.step, num(r.tokens), num(r.flops), num(r.lr), num(r.trainLoss), num(r.valLoss), num(r.gradNorm), num(r.elapsed), num(r.tokensPerSec));
      }
      this.refreshProgress(id);
      return rows.length;
    });
  }

  /**
   * Deletes the run's metric rows after `step` (keeps step ≤ `step`), as the loop truncates metrics.jsonl when it
   * resumes from a checkpoint; refreshes tokensDone/flopsDone/bestValLoss. Returns the number of rows deleted.
   */
  truncateMetrics(id: string, step: number): number {
    return this.write(() => {
      this.requireRun(id);
      const n = this.stmt("DELETE FROM metrics WHERE runId = ? AND step > ?").run(id, step).changes;
      this.refreshProgress(id);
      return n;
    });
  }

  /** The run's logged steps in step order (valLoss present only where validation ran). */
  metrics(id: string): MetricRecord[] {
    return this.guard(() => {
      const rows = this.stmt("SELECT * FROM metrics WHERE runId = ? ORDER BY step").all(id) as MetricSqlRow[];
      return rows.map(toMetric);
    });
  }

  /**
   * Records the end of a training call: status "done" (default) or "stopped", tokens/FLOPs done, final and best
   * losses, training seconds, backend; sets `ended`, clears `error`. A TrainSummary can be passed as it is.
   */
  finishRun(id: string, summary: FinishInput): RunRecord {
    const status = summary.status ?? "done";
    if (status !== "done" && status !== "stopped") {
      throw new LabError("invalid", `finishRun status must be "done" or "stopped", got ${JSON.stringify(status)}; use failRun for failures`);
    }
    return this.write(() => {
      this.requireRun(id);
      this.stmt(
        `UPDATE runs SET status = @status, tokensDone = @tokens, flopsDone = @flops, finalTrainLoss = @finalTrainLoss,
           finalValLoss = @finalValLoss, bestValLoss = @bestValLoss, wallSeconds = @elapsed,
           backend = COALESCE(@backend, backend), error = NULL, ended = @now, heartbeat = @now
         WHERE id = @id`,
      ).run({
        id,
        status,
        tokens: num(summary.tokens) ?? 0,
        flops: num(summary.flops) ?? 0,
        finalTrainLoss: num(summary.finalTrainLoss),
        finalValLoss: num(summary.finalValLoss),
        bestValLoss: num(summary.bestValLoss),
        elapsed: num(summary.elapsed),
        backend: summary.backend ?? null,
        now: now(),
      });
      return this.findRun(id)!;
    });
  }

  /** Marks a run failed with the error's message (an Error's message or the string); sets `ended`. */
  failRun(id: string, error: unknown): RunRecord {
    const message = error instanceof Error ? error.message : String(error);
    return this.write(() => {
      this.requireRun(id);
      this.stmt("UPDATE runs SET status = 'failed', error = ?, ended = ?, heartbeat = ? WHERE id = ?").run(message, now(), now(), id);
      return this.findRun(id)!;
    });
  }

  /** Absolute path of the run's folder DIR/runs/<id> (created if missing). */
  runDir(id: string): string {
    checkId(id, "run id");
    const dir = join(this.runsDir, id);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /**
   * Imports a run folder written by the training loop (config.json, metrics.jsonl, summary.json) as run `id`:
   * plans the run if absent (with `opts.sweep`/`opts.name`), replaces its stored metrics by the folder's, and
   * records the outcome: the summary's status when summary.json covers the last logged step, "stopped" when the
   * metrics go further (the process was killed), "planned" when nothing was logged. Returns the stored run.
   */
  importRunFolder(id: string, dir: string, opts: ImportOptions): RunRecord {
    const folder = readRunFolder(resolve(dir));
    const input: PlanRunInput = { id, config: folder.config, accounting: opts.accounting(folder.config.model), dir };
    if (opts.sweep != null) input.sweep = opts.sweep;
    if (opts.name !== undefined) input.name = opts.name;
    return this.write(() => {
      this.planRun(input);
      this.stmt("UPDATE runs SET dir = ? WHERE id = ?").run(this.relativeDir(dir), id);
      this.stmt("DELETE FROM metrics WHERE runId = ?").run(id);
      this.appendMetrics(id, folder.metrics);
      const last = folder.metrics[folder.metrics.length - 1];
      const s = folder.summary;
      const summaryCurrent = s !== null && (last === undefined || (s.steps ?? last.step) >= last.step);
      if (s && summaryCurrent) {
        this.finishRun(id, { ...s, status: s.status === "stopped" ? "stopped" : "done" });
      } else if (last) {
        const vals = folder.metrics.filter((m) => m.valLoss !== undefined && Number.isFinite(m.valLoss));
        this.finishRun(id, {
          status: "stopped",
          tokens: last.tokens,
          flops: last.flops,
          finalTrainLoss: last.trainLoss,
          finalValLoss: vals.length ? vals[vals.length - 1].valLoss! : null,
          bestValLoss: vals.length ? Math.min(...vals.map((m) => m.valLoss!)) : null,
          elapsed: last.elapsed,
          ...(s?.backend ? { backend: s.backend } : {}),
        });
      }
      return this.findRun(id)!;
    });
  }

  /**
   * Records runs trained elsewhere (another trainer's logs, a published table; see src/ingest/) in one transaction:
   * creates the sweep (plan "import") when absent; creates each run, or, for an id imported before, replaces its
   * record and metrics when anything differs (a changed source) and leaves it untouched otherwise (the same source
   * again). Every run ends "done", its end recorded as a "final" endpoint. Refuses, writing nothing: a sweep planned by scaling-lab (its fits would mix
   * foreign runs in), and an id held by a run of scaling-lab's own or of another sweep.
   */
  recordExternalRuns(sweep: SweepInput, runs: readonly ExternalRunInput[]): ExternalRunsResult {
    checkId(sweep.name, "sweep name");
    const plan = sweep.plan ?? "import";
    for (const r of runs) {
      checkId(r.id, "run id");
      for (const k of ["N", "D", "C"] as const) {
        if (!(Number.isFinite(r[k]) && r[k] > 0)) throw new LabError("invalid", `run ${r.id}: ${k} must be a positive number, got ${r[k]}`);
      }
    }
    return this.write(() => {
      const existing = this.getSweep(sweep.name);
      if (existing && existing.plan !== plan) {
        throw new LabError(
          "invalid",
          `sweep "${sweep.name}" in ${this.dir} holds runs of a ${existing.plan ?? "scaling-lab"} plan; import into a sweep of its own (another --sweep name)`,
        );
      }
      this.ensureSweep({ ...sweep, plan });
      const result: ExternalRunsResult = { created: [], updated: [], unchanged: [] };
      for (const r of runs) {
        const old = this.findRun(r.id);
        if (old && (old.extra.external !== true || old.sweep !== sweep.name)) {
          const owner = old.extra.external === true ? `an imported run of sweep ${old.sweep}` : "a run trained by scaling-lab";
          throw new LabError("invalid", `run id ${r.id} is taken by ${owner} in ${this.dir}; import under another --sweep name`);
        }
        const fingerprint = createHash("sha256").update(JSON.stringify(r)).digest("hex").slice(0, 16);
        if (old && old.extra.fingerprint === fingerprint) {
          result.unchanged.push(r.id);
          continue;
        }
        if (old) this.stmt("DELETE FROM runs WHERE id = ?").run(r.id); // metrics cascade
        this.insertExternalRun(sweep.name, r, fingerprint, old?.created ?? now());
        (old ? result.updated : result.created).push(r.id);
      }
      return result;
    });
  }

  // ---------------------------------------------------------------- points for fits

  /**
   * Learning-curve points of a sweep for the compute-frontier fit: one point per logged step (run, N, D = tokens,
   * C = FLOPs, loss, step), with the validation loss (rows where validation ran) or the training loss.
   */
  frontierPoints(sweep: string, opts: PointOptions = {}): FitPoint[] {
    const statuses = checkStatuses(opts.statuses ?? RUN_STATUSES.filter((s) => s !== "failed"));
    const lossCol = opts.loss === "train" ? "m.trainLoss" : "m.valLoss";
    return this.guard(() => {
      this.requireSweep(sweep);
      const rows = this.stmt(
        `SELECT r.id AS run, r.N AS N, m.tokens AS D, m.flops AS C, ${lossCol} AS loss, m.step AS step
         FROM metrics m JOIN runs r ON r.id = m.runId
         WHERE r.sweep = ? AND r.status IN (${statuses.map(() => "?").join(", ")}) AND ${lossCol} IS NOT NULL
         ORDER BY r.N, r.id, m.step`,
      ).all(sweep, ...statuses) as FitPoint[];
      return rows;
    });
  }

  /**
   * One point per finished run of a sweep (run, N, D = tokens trained, C = FLOPs spent, loss = final validation
   * loss, or final training loss with `loss: "train"`), for the Chinchilla, IsoFLOP and power-law fits.
   */
  runPoints(sweep: string, opts: PointOptions = {}): FitPoint[] {
    const statuses = checkStatuses(opts.statuses ?? ["done"]);
    const lossCol = opts.loss === "train" ? "finalTrainLoss" : "finalValLoss";
    return this.guard(() => {
      this.requireSweep(sweep);
      return this.stmt(
        `SELECT id AS run, N, tokensDone AS D, flopsDone AS C, ${lossCol} AS loss FROM runs
         WHERE sweep = ? AND status IN (${statuses.map(() => "?").join(", ")}) AND ${lossCol} IS NOT NULL AND tokensDone > 0
         ORDER BY N, D, id`,
      ).all(sweep, ...statuses) as FitPoint[];
    });
  }

  /**
   * Cooled-down endpoints of a sweep's runs (one point per endpoint: run, N, params, D, C, loss = its validation
   * loss), for the frontier, Chinchilla and IsoFLOP fits on the right points (see src/analysis/).
   */
  endpointPoints(sweep: string, opts: { statuses?: RunStatus[] } = {}): FitPoint[] {
    const statuses = checkStatuses(opts.statuses ?? RUN_STATUSES.filter((s) => s !== "failed"));
    return this.guard(() => {
      this.requireSweep(sweep);
      return this.stmt(
        `SELECT r.id AS run, r.N AS N, r.params AS params, e.tokens AS D, e.flops AS C, e.valLoss AS loss
         FROM endpoints e JOIN runs r ON r.id = e.runId
         WHERE r.sweep = ? AND r.status IN (${statuses.map(() => "?").join(", ")}) AND e.valLoss IS NOT NULL
         ORDER BY r.params, r.id, e.tokens`,
      ).all(sweep, ...statuses) as FitPoint[];
    });
  }

  /** Records a run's endpoints (an endpoint already stored at the same token count is replaced). */
  recordEndpoints(id: string, rows: readonly EndpointRecord[]): number {
    return this.write(() => {
      this.requireRun(id);
      const upsert = this.stmt(
        `INSERT INTO endpoints (runId, tokens, kind, step, flops, valLoss, trainLoss) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(runId, tokens) DO UPDATE SET kind = excluded.kind, step = excluded.step, flops = excluded.flops,
           valLoss = excluded.valLoss, trainLoss = excluded.trainLoss`,
      );
      for (const e of rows) upsert.run(id, e.tokens, e.kind, e.step, e.flops, num(e.valLoss), num(e.trainLoss));
      return rows.length;
    });
  }

  /** A run's endpoints in token order. */
  endpoints(id: string): EndpointRecord[] {
    return this.guard(() => this.stmt("SELECT kind, step, tokens, flops, valLoss, trainLoss FROM endpoints WHERE runId = ? ORDER BY tokens").all(id) as EndpointRecord[]);
  }

  /** Stores the analysis of a sweep (replacing the previous one). */
  saveAnalysis(sweep: string, version: string, result: unknown): AnalysisRecord {
    return this.write(() => {
      this.requireSweep(sweep);
      const created = now();
      this.stmt(
        `INSERT INTO analyses (sweep, created, version, result) VALUES (?, ?, ?, ?)
         ON CONFLICT(sweep) DO UPDATE SET created = excluded.created, version = excluded.version, result = excluded.result`,
      ).run(sweep, created, version, JSON.stringify(result));
      return { sweep, created, version, result };
    });
  }

  /** The stored analysis of a sweep, if any. */
  getAnalysis(sweep: string): AnalysisRecord | undefined {
    return this.guard(() => {
      const row = this.stmt("SELECT sweep, created, version, result FROM analyses WHERE sweep = ?").get(sweep) as
        | { sweep: string; created: string; version: string; result: string }
        | undefined;
      return row ? { ...row, result: JSON.parse(row.result) as unknown } : undefined;
    });
  }

  // ---------------------------------------------------------------- evals

  /** Records an eval result; one per (model, task, shots, n): recording it again replaces it. Returns it. */
  recordEval(input: EvalInput): EvalRecord {
    if (!input.model || !input.task) throw new LabError("invalid", "recordEval needs a model (run id or path) and a task name");
    for (const k of ["shots", "n"] as const) {
      if (!Number.isInteger(input[k]) || input[k] < 0) {
        throw new LabError("invalid", `recordEval ${k} must be an integer ≥ 0, got ${JSON.stringify(input[k])}`);
      }
    }
    return this.write(() => {
      this.stmt(
        `INSERT INTO evals (model, task, shots, n, accuracy, meanLogLik, created, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(model, task, shots, n) DO UPDATE SET accuracy = excluded.accuracy, meanLogLik = excluded.meanLogLik,
           created = excluded.created, extra = excluded.extra`,
      ).run(input.model, input.task, input.shots, input.n, num(input.accuracy), num(input.meanLogLik), now(), JSON.stringify(input.extra ?? {}));
      const row = this.stmt("SELECT * FROM evals WHERE model = ? AND task = ? AND shots = ? AND n = ?").get(
        input.model, input.task, input.shots, input.n,
      ) as EvalSqlRow;
      return toEval(row);
    });
  }

  /** Eval results, optionally filtered by model, task, or sweep (evals of that sweep's runs); by model, task, shots. */
  listEvals(filter: EvalFilter = {}): EvalRecord[] {
    return this.guard(() => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.model !== undefined) {
        where.push("e.model = ?");
        params.push(filter.model);
      }
      if (filter.task !== undefined) {
        where.push("e.task = ?");
        params.push(filter.task);
      }
      if (filter.sweep !== undefined) {
        where.push("e.model IN (SELECT id FROM runs WHERE sweep = ?)");
        params.push(filter.sweep);
      }
      const sql = `SELECT e.* FROM evals e ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY e.model, e.task, e.shots, e.n`;
      return (this.stmt(sql).all(...params) as EvalSqlRow[]).map(toEval);
    });
  }

  // ---------------------------------------------------------------- internals

  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * Runs fn, retrying it while SQLite reports the database busy and the busy timeout has not passed (some busy
   * cases, e.g. two processes creating the same lab, skip SQLite's busy handler), then turning a persistent
   * busy/locked error into the one-line LabError("locked"). Inside a transaction the error is rethrown as it is,
   * so that the outermost call retries the whole transaction.
   */
  private guard<T>(fn: () => T): T {
    const start = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return fn();
      } catch (e) {
        if (isBusyError(e)) {
          if (this.db.inTransaction) throw e;
          if (Date.now() - start < this.busyTimeoutMs) {
            sleepMs(Math.min(50, 1 + attempt * 2));
            continue;
          }
          throw new LabError(
            "locked",
            `the lab database ${this.file} is locked by another process (still busy after ${this.busyTimeoutMs / 1000} s); wait for it to finish or stop it, then retry`,
          );
        }
        if (sqliteCode(e) === "SQLITE_READONLY") {
          throw new LabError("invalid", `the lab ${this.file} is open read-only (or the file is not writable); open it for writing`);
        }
        throw e;
      }
    }
  }

  /** Runs fn in a BEGIN IMMEDIATE transaction (a savepoint when already inside one), under {@link guard}. */
  private write<T>(fn: () => T): T {
    if (this.readonly) throw new LabError("invalid", `the lab ${this.file} is open read-only; open it without readonly to write`);
    return this.guard(() => this.db.transaction(fn).immediate() as T);
  }

  private findRun(id: string): RunRecord | undefined {
    const row = this.stmt("SELECT * FROM runs WHERE id = ?").get(id) as RunSqlRow | undefined;
    return row ? toRun(row) : undefined;
  }

  private requireRun(id: string): RunRecord {
    const run = this.findRun(id);
    if (!run) throw new LabError("unknown-run", `no run "${id}" in the lab ${this.dir}; plan it first (planRun) or check the id`);
    return run;
  }

  private requireSweep(name: string): void {
    if (this.stmt("SELECT 1 FROM sweeps WHERE name = ?").get(name)) return;
    const known = (this.stmt("SELECT name FROM sweeps ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    throw new LabError(
      "unknown-sweep",
      `no sweep "${name}" in the lab ${this.dir} (${known.length ? "known: " + known.join(", ") : "it has no sweeps yet"}); check --sweep and --lab`,
    );
  }

  private insertExternalRun(sweep: string, r: ExternalRunInput, fingerprint: string, created: string): void {
    const sh = r.shape;
    const vals = r.metrics.filter((m) => m.valLoss !== undefined && Number.isFinite(m.valLoss));
    const last = r.metrics[r.metrics.length - 1];
    this.stmt(
      `INSERT INTO runs (id, sweep, name, status, config, nLayer, nHead, nEmbd, blockSize, vocabSize, params, N, D, C, tokensDone,
         flopsDone, finalTrainLoss, finalValLoss, seed, created, ended, wallSeconds, dir, extra)
       VALUES (@id, @sweep, @name, 'done', @config, @nLayer, @nHead, @nEmbd, @blockSize, @vocabSize, @params, @N, @D, @C, @D,
         @C, @finalTrainLoss, @finalValLoss, NULL, @created, @now, @wallSeconds, @dir, @extra)`,
    ).run({
      id: r.id, sweep, name: r.name ?? r.id, config: JSON.stringify(r.config),
      nLayer: sh?.nLayer ?? 0, nHead: sh?.nHead ?? 0, nEmbd: sh?.nEmbd ?? 0, blockSize: sh?.blockSize ?? 0, vocabSize: sh?.vocabSize ?? 0,
      params: Math.round(r.params ?? r.N), N: Math.round(r.N), D: Math.round(r.D), C: r.C,
      finalTrainLoss: num(r.finalTrainLoss), finalValLoss: num(r.finalValLoss), created, now: now(),
      wallSeconds: num(last?.elapsed), dir: this.relativeDir(r.dir),
      extra: JSON.stringify({ ...(r.extra ?? {}), external: true, fingerprint }),
    });
    if (r.metrics.length) this.appendMetrics(r.id, r.metrics);
    this.stmt("UPDATE runs SET tokensDone = ?, flopsDone = ?, bestValLoss = ?, heartbeat = NULL WHERE id = ?").run(
      Math.round(r.D), r.C, vals.length ? Math.min(...vals.map((m) => m.valLoss!)) : null, r.id,
    );
    // its end is a "final" endpoint, as a run trained here records one, so the sweep's analysis sees it too
    this.recordEndpoints(r.id, [{
      kind: "final", step: last?.step ?? 0, tokens: Math.round(r.D), flops: r.C, valLoss: num(r.finalValLoss), trainLoss: num(r.finalTrainLoss),
    }]);
  }

  private setRunning(id: string, info: RunnerInfo): void {
    const t = now();
    this.stmt(
      `UPDATE runs SET status = 'running', backend = ?, machine = ?, started = COALESCE(started, ?), ended = NULL,
         error = NULL, attempts = attempts + 1, heartbeat = ? WHERE id = ?`,
    ).run(info.backend, info.machine ?? describeMachine(), t, t, id);
  }

  private refreshProgress(id: string): void {
    this.stmt(
      `UPDATE runs SET
         tokensDone = COALESCE((SELECT tokens FROM metrics WHERE runId = @id ORDER BY step DESC LIMIT 1), 0),
         flopsDone = COALESCE((SELECT flops FROM metrics WHERE runId = @id ORDER BY step DESC LIMIT 1), 0),
         bestValLoss = (SELECT MIN(valLoss) FROM metrics WHERE runId = @id),
         heartbeat = @now
       WHERE id = @id`,
    ).run({ id, now: now() });
  }

  private relativeDir(dir: string): string {
    const abs = resolve(dir);
    const rel = relative(this.dir, abs);
    return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep).join("/") : abs;
  }
}
