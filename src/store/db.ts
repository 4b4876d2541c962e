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
import { MIGRATIONS } from './migrations.js';

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

/** The runs list's filters (cnperf serve); empty means any. */
export interface RunFilter {
  datapath?: string;
  workload?: string;
  status?: string;
  experiment?: string;
  host?: string;
  since?: string;
  q?: string;
}

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
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
    } catch (e) {
      db.close();
      if (e instanceof UserError) throw e;
      // not SQLite, a damaged file, a locked one: say which file and what it said
      throw new UserError(
        `cannot read results database ${file}: ${(e as Error).message}`,
        'name a cnperf results store with --db FILE',
      );
    }
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

  /**
   * Runs for browsing (cnperf serve), newest first: each filter narrows (datapath, workload, status exact;
   * experiment by name; host by the environment's hostname; since an ISO date; q a substring of the id,
   * datapath, workload, case or problem).
   */
  searchRuns(f: RunFilter, limit = 500): RunRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const eq = (col: string, v: string | undefined) => {
      if (v) (where.push(`${col} = ?`), args.push(v));
    };
    eq('runs.datapath', f.datapath);
    eq('runs.workload', f.workload);
    eq('runs.status', f.status);
    eq('experiments.name', f.experiment);
    eq(`json_extract(runs.env, '$.hostname')`, f.host);
    if (f.since) (where.push('runs.created_at >= ?'), args.push(f.since));
    if (f.q) {
      where.push(
        `(runs.id || ' ' || runs.datapath || ' ' || runs.workload || ' ' || ` +
          `coalesce(runs.case_label, '') || ' ' || coalesce(runs.problem, '')) LIKE ? ESCAPE '\\'`,
      );
      args.push(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    const rows = this.db
      .prepare(
        `SELECT runs.* FROM runs LEFT JOIN experiments ON experiments.id = runs.experiment_id ` +
          `${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY runs.created_at DESC, runs.id LIMIT ?`,
      )
      .all(...args, limit) as Row[];
    return rows.map(fromRow);
  }

  /** What the runs list can be filtered by: the values present in the store. */
  facets(): Record<'datapath' | 'workload' | 'experiment' | 'host', string[]> {
    const col = (sql: string) => (this.db.prepare(sql).pluck().all() as Array<string | null>).filter((v) => !!v);
    return {
      datapath: col('SELECT DISTINCT datapath FROM runs ORDER BY 1') as string[],
      workload: col('SELECT DISTINCT workload FROM runs ORDER BY 1') as string[],
      experiment: col('SELECT DISTINCT name FROM experiments ORDER BY 1') as string[],
      host: col(`SELECT DISTINCT json_extract(env, '$.hostname') FROM runs ORDER BY 1`) as string[],
    };
  }

  /** Stored runs by status, and experiments: cnperf's own counters on /metrics. */
  counts(): { runs: Record<string, number>; experiments: number } {
    const rows = this.db.prepare('SELECT status, count(*) AS n FROM runs GROUP BY status').all() as Array<{
      status: string;
      n: number;
    }>;
    const experiments = this.db.prepare('SELECT count(*) FROM experiments').pluck().get() as number;
    return { runs: Object.fromEntries(rows.map((r) => [r.status, r.n])), experiments };
  }

  /** An experiment's name by id (the label runs carry on /metrics). */
  experimentNames(): Map<string, string> {
    const rows = this.db.prepare('SELECT id, name FROM experiments').all() as Array<{ id: string; name: string }>;
    return new Map(rows.map((r) => [r.id, r.name]));
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
