/**
 * Results in SQLite. The schema is versioned with PRAGMA user_version and migrated forward on open;
 * a database from a newer cnperf is refused rather than misread. Renderers read only from here, so
 * a report can be remade without re-measuring.
 */
import Database from 'better-sqlite3';
import { makeDirs } from '../local/statedir.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import type { Environment } from '../env/environment.js';
import type { WorkloadResult } from '../workloads/results.js';

/** Migrations in order; index i brings the schema from version i to i+1. Never edit a shipped one. */
const MIGRATIONS: string[] = [
  `CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     batch_id TEXT NOT NULL,
     created_at TEXT NOT NULL,
     datapath TEXT NOT NULL,
     workload TEXT NOT NULL,
     params TEXT NOT NULL,
     topology TEXT NOT NULL,
     env TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('ok', 'partial', 'failed')),
     problem TEXT,
     samples INTEGER NOT NULL,
     lost INTEGER NOT NULL,
     summary TEXT,
     engine TEXT,
     histogram BLOB,
     raw BLOB
   );
   CREATE INDEX runs_created ON runs (created_at);
   CREATE INDEX runs_batch ON runs (batch_id);`,
  // 2: per-second series of stream runs ({tx: [...], rx: [...]}), kept so reports can plot them.
  `ALTER TABLE runs ADD COLUMN series TEXT;`,
  // 3: what the probes saw during the run (CPU split, softirqs, drops, trace, round-trip breakdown).
  `ALTER TABLE runs ADD COLUMN probes TEXT;`,
  // 4: experiments (cnperf run FILE) and which case and repeat of one a run is.
  `CREATE TABLE experiments (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     scale TEXT NOT NULL,
     file TEXT NOT NULL,
     text TEXT NOT NULL,
     plan_hash TEXT NOT NULL,
     cases INTEGER NOT NULL,
     repeats INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     finished_at TEXT,
     status TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted'))
   );
   CREATE INDEX experiments_name ON experiments (name, scale, plan_hash);
   ALTER TABLE runs ADD COLUMN experiment_id TEXT;
   ALTER TABLE runs ADD COLUMN case_key TEXT;
   ALTER TABLE runs ADD COLUMN case_label TEXT;
   ALTER TABLE runs ADD COLUMN repeat INTEGER;
   CREATE INDEX runs_experiment ON runs (experiment_id);`,
  // 5: cnperf calibrate: this machine's floor, shown next to every run's results.
  `CREATE TABLE calibrations (
     id TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     hostname TEXT NOT NULL,
     env TEXT NOT NULL,
     result TEXT NOT NULL
   );
   CREATE INDEX calibrations_host ON calibrations (hostname, created_at);`,
];

export interface ExperimentRecord {
  id: string;
  name: string;
  scale: string;
  file: string;
  /** the experiment file as it was run */
  text: string;
  /** identity of the expanded plan (cases, repeats): --resume continues only the same plan */
  plan_hash: string;
  cases: number;
  repeats: number;
  created_at: string;
  finished_at: string | null;
  status: 'running' | 'done' | 'interrupted';
}

export const SCHEMA_VERSION = MIGRATIONS.length;

/** What every run stores, whatever its workload. */
export interface RunBase {
  id: string;
  batch_id: string;
  created_at: string;
  datapath: string;
  params: Record<string, unknown>;
  topology: unknown;
  env: Record<string, unknown> | Environment;
  /** ok: measured as asked; partial: measured, but something went wrong (see problem); failed: no result */
  status: 'ok' | 'partial' | 'failed';
  problem: string | null;
  samples: number;
  lost: number;
  histogram: Buffer | null;
  raw: Buffer | null;
  /** what the probes saw (src/probes/session.ts ProbeReport, plus the round-trip breakdown) */
  probes?: Record<string, unknown> | null;
  /** set when the run is a case of an experiment */
  experiment_id?: string | null;
  case_key?: string | null;
  case_label?: string | null;
  repeat?: number | null;
}

/**
 * A stored run: its summary, engine counters and per-second series are the types its workload
 * declares (src/workloads/results.ts); `workload` says which, so readers narrow on it.
 */
export type RunRecord = RunBase & WorkloadResult;

interface Row {
  id: string;
  batch_id: string;
  created_at: string;
  datapath: string;
  workload: string;
  params: string;
  topology: string;
  env: string;
  status: RunBase['status'];
  problem: string | null;
  samples: number;
  lost: number;
  summary: string | null;
  engine: string | null;
  histogram: Buffer | null;
  raw: Buffer | null;
  series: string | null;
  probes: string | null;
  experiment_id: string | null;
  case_key: string | null;
  case_label: string | null;
  repeat: number | null;
}

export class Store {
  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {}

  /**
   * The store a read-only command reads (results, report, compare, check): it must exist already —
   * a mistyped --db is an error naming the path, never a new empty store created in its place.
   */
  static openExisting(file: string): Store {
    if (!existsSync(file)) {
      throw new UserError(
        `no results store at ${file}`,
        `measure something first (cnperf quick …) or name an existing store with --db FILE`,
        1,
      );
    }
    return Store.open(file);
  }

  static open(file: string): Store {
    try {
      makeDirs(path.dirname(file), 0o755);
    } catch (e) {
      throw new UserError(
        `cannot create the results directory for ${file}: ${(e as Error).message}`,
        'choose another place with --db PATH',
      );
    }
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (e) {
      throw new UserError(
        `cannot open results database ${file}: ${(e as Error).message}`,
        'choose another place with --db PATH',
      );
    }
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    return new Store(db, file);
  }

  close(): void {
    this.db.close();
  }

  saveRun(r: RunRecord): void {
    this.db
      .prepare(
        `INSERT INTO runs (id, batch_id, created_at, datapath, workload, params, topology, env, status, problem,
                           samples, lost, summary, engine, histogram, raw, series, probes, experiment_id, ` +
          `case_key, case_label, repeat)
         VALUES (@id, @batch_id, @created_at, @datapath, @workload, @params, @topology, @env, @status, @problem,
                 @samples, @lost, @summary, @engine, @histogram, @raw, @series, @probes, @experiment_id, ` +
          `@case_key, @case_label, @repeat)`,
      )
      .run({
        ...r,
        params: JSON.stringify(r.params),
        topology: JSON.stringify(r.topology),
        env: JSON.stringify(r.env),
        summary: r.summary ? JSON.stringify(r.summary) : null,
        engine: r.engine ? JSON.stringify(r.engine) : null,
        series: r.series ? JSON.stringify(r.series) : null,
        probes: r.probes ? JSON.stringify(r.probes) : null,
        experiment_id: r.experiment_id ?? null,
        case_key: r.case_key ?? null,
        case_label: r.case_label ?? null,
        repeat: r.repeat ?? null,
      });
  }

  createExperiment(e: ExperimentRecord): void {
    this.db
      .prepare(
        `INSERT INTO experiments (id, name, scale, file, text, plan_hash, cases, repeats, created_at, ` +
          `finished_at, status)
         VALUES (@id, @name, @scale, @file, @text, @plan_hash, @cases, @repeats, @created_at, @finished_at, @status)`,
      )
      .run(e);
  }

  finishExperiment(id: string, status: ExperimentRecord['status']): void {
    this.db
      .prepare(`UPDATE experiments SET status = ?, finished_at = ? WHERE id = ?`)
      .run(status, status === 'running' ? null : new Date().toISOString(), id);
  }

  /** The latest unfinished experiment with this exact plan (what --resume continues). */
  findResumable(name: string, scale: string, planHash: string): ExperimentRecord | null {
    return (
      (this.db
        .prepare(
          `SELECT * FROM experiments WHERE name = ? AND scale = ? AND plan_hash = ? AND status != 'done' ` +
            `ORDER BY created_at DESC LIMIT 1`,
        )
        .get(name, scale, planHash) as ExperimentRecord | undefined) ?? null
    );
  }

  /** "case_key#repeat" of the runs of an experiment that measured something (ok or partial). */
  measuredCases(experimentId: string): Set<string> {
    const rows = this.db
      .prepare(`SELECT case_key, repeat FROM runs WHERE experiment_id = ? AND status != 'failed'`)
      .all(experimentId) as Array<{ case_key: string; repeat: number }>;
    return new Set(rows.map((r) => `${r.case_key}#${r.repeat}`));
  }

  saveCalibration(c: { id: string; created_at: string; hostname: string; env: unknown; result: unknown }): void {
    this.db
      .prepare(`INSERT INTO calibrations (id, created_at, hostname, env, result) VALUES (?, ?, ?, ?, ?)`)
      .run(c.id, c.created_at, c.hostname, JSON.stringify(c.env), JSON.stringify(c.result));
  }

  /** The latest calibration of this host, or null. */
  latestCalibration(hostname: string): { id: string; created_at: string; result: unknown } | null {
    const row = this.db
      .prepare(`SELECT id, created_at, result FROM calibrations WHERE hostname = ? ORDER BY created_at DESC LIMIT 1`)
      .get(hostname) as { id: string; created_at: string; result: string } | undefined;
    return row ? { id: row.id, created_at: row.created_at, result: JSON.parse(row.result) as unknown } : null;
  }

  listExperiments(limit = 50): ExperimentRecord[] {
    return this.db
      .prepare(`SELECT * FROM experiments ORDER BY created_at DESC LIMIT ?`)
      .all(limit) as ExperimentRecord[];
  }

  /** An experiment by id (or unambiguous prefix), or the latest one of that name. */
  findExperiment(idOrName: string): ExperimentRecord | null {
    const byName = this.db
      .prepare(`SELECT * FROM experiments WHERE name = ? ORDER BY created_at DESC LIMIT 1`)
      .get(idOrName) as ExperimentRecord | undefined;
    if (byName) return byName;
    if (!/^[a-z0-9]{1,32}$/.test(idOrName)) return null;
    const rows = this.db
      .prepare(`SELECT * FROM experiments WHERE id LIKE ? || '%' LIMIT 2`)
      .all(idOrName) as ExperimentRecord[];
    if (rows.length > 1)
      throw new UserError(`'${idOrName}' matches several experiments`, 'give more characters of the id');
    return rows[0] ?? null;
  }

  /** Every run of an experiment, in the order they were measured. */
  runsOfExperiment(experimentId: string): RunRecord[] {
    return (
      this.db.prepare(`SELECT * FROM runs WHERE experiment_id = ? ORDER BY created_at, id`).all(experimentId) as Row[]
    ).map(fromRow);
  }

  listRuns(limit = 50): RunRecord[] {
    const rows = this.db.prepare(`SELECT * FROM runs ORDER BY created_at DESC, id LIMIT ?`).all(limit) as Row[];
    return rows.map(fromRow);
  }

  /** A run by its id or an unambiguous prefix of it. */
  findRun(idOrPrefix: string): RunRecord {
    if (!/^[a-z0-9]{1,32}$/.test(idOrPrefix))
      throw new UserError(
        `'${idOrPrefix}' is not a run id (letters a-z and digits)`,
        "'cnperf results list' shows the ids",
      );
    const rows = this.db
      .prepare(`SELECT * FROM runs WHERE id LIKE ? || '%' ORDER BY id LIMIT 5`)
      .all(idOrPrefix) as Row[];
    if (rows.length === 0)
      throw new UserError(`no run '${idOrPrefix}' in ${this.file}`, "'cnperf results list' shows the stored runs");
    const exact = rows.find((r) => r.id === idOrPrefix);
    if (exact) return fromRow(exact);
    if (rows.length > 1)
      throw new UserError(
        `'${idOrPrefix}' matches several runs: ${rows.map((r) => r.id).join(', ')}`,
        'give more characters of the id',
      );
    return fromRow(rows[0]!);
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }
}

/** A row back as a typed record: the JSON columns are what saveRun wrote for the row's workload. */
function fromRow(r: Row): RunRecord {
  const json = (text: string | null) => (text ? JSON.parse(text) : null);
  return {
    ...r,
    workload: r.workload as RunRecord['workload'],
    params: json(r.params),
    topology: json(r.topology),
    env: json(r.env),
    summary: json(r.summary),
    engine: json(r.engine),
    series: json(r.series),
    probes: json(r.probes),
  } as RunRecord;
}

function migrate(db: Database.Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new UserError(
      `results database ${file} has schema version ${current}; this cnperf knows up to ${SCHEMA_VERSION}`,
      'use a newer cnperf, or another --db',
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
