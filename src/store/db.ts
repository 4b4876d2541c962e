/**
 * Results in SQLite. The schema is versioned with PRAGMA user_version and migrated forward on open;
 * a database from a newer cnperf is refused rather than misread. Renderers read only from here, so
 * a report can be remade without re-measuring.
 */
import Database from 'better-sqlite3';
import { makeDirs } from '../host/statedir.js';
import path from 'node:path';
import { UserError } from '../util/errors.js';

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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface RunRecord {
  id: string;
  batch_id: string;
  created_at: string;
  datapath: string;
  workload: string;
  params: Record<string, unknown>;
  topology: unknown;
  env: Record<string, unknown>;
  /** ok: measured as asked; partial: measured, but something went wrong (see problem); failed: no result */
  status: 'ok' | 'partial' | 'failed';
  problem: string | null;
  samples: number;
  lost: number;
  summary: Record<string, unknown> | null;
  /** the engine's own counters (sent, late, schedule misses, ...) */
  engine: Record<string, unknown> | null;
  histogram: Buffer | null;
  raw: Buffer | null;
  /** per-second series (stream runs) */
  series: unknown;
  /** what the probes saw (src/probes/session.ts ProbeReport, plus the round-trip breakdown) */
  probes?: Record<string, unknown> | null;
}

interface Row {
  id: string;
  batch_id: string;
  created_at: string;
  datapath: string;
  workload: string;
  params: string;
  topology: string;
  env: string;
  status: RunRecord['status'];
  problem: string | null;
  samples: number;
  lost: number;
  summary: string | null;
  engine: string | null;
  histogram: Buffer | null;
  raw: Buffer | null;
  series: string | null;
  probes: string | null;
}

export class Store {
  private constructor(private readonly db: Database.Database, readonly file: string) {}

  static open(file: string): Store {
    try {
      makeDirs(path.dirname(file), 0o755);
    } catch (e) {
      throw new UserError(`cannot create the results directory for ${file}: ${(e as Error).message}`, 'choose another place with --db PATH');
    }
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (e) {
      throw new UserError(`cannot open results database ${file}: ${(e as Error).message}`, 'choose another place with --db PATH');
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
                           samples, lost, summary, engine, histogram, raw, series, probes)
         VALUES (@id, @batch_id, @created_at, @datapath, @workload, @params, @topology, @env, @status, @problem,
                 @samples, @lost, @summary, @engine, @histogram, @raw, @series, @probes)`,
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
      });
  }

  listRuns(limit = 50): RunRecord[] {
    const rows = this.db.prepare(`SELECT * FROM runs ORDER BY created_at DESC, id LIMIT ?`).all(limit) as Row[];
    return rows.map(fromRow);
  }

  /** A run by its id or an unambiguous prefix of it. */
  findRun(idOrPrefix: string): RunRecord {
    if (!/^[a-z0-9]{1,32}$/.test(idOrPrefix)) throw new UserError(`'${idOrPrefix}' is not a run id (letters a-z and digits)`, "'cnperf results list' shows the ids");
    const rows = this.db.prepare(`SELECT * FROM runs WHERE id LIKE ? || '%' ORDER BY id LIMIT 5`).all(idOrPrefix) as Row[];
    if (rows.length === 0) throw new UserError(`no run '${idOrPrefix}' in ${this.file}`, "'cnperf results list' shows the stored runs");
    const exact = rows.find((r) => r.id === idOrPrefix);
    if (exact) return fromRow(exact);
    if (rows.length > 1) throw new UserError(`'${idOrPrefix}' matches several runs: ${rows.map((r) => r.id).join(', ')}`, 'give more characters of the id');
    return fromRow(rows[0]!);
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }
}

function fromRow(r: Row): RunRecord {
  return {
    ...r,
    params: JSON.parse(r.params) as Record<string, unknown>,
    topology: JSON.parse(r.topology) as unknown,
    env: JSON.parse(r.env) as Record<string, unknown>,
    summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null,
    engine: r.engine ? (JSON.parse(r.engine) as Record<string, unknown>) : null,
    series: r.series ? (JSON.parse(r.series) as unknown) : null,
    probes: r.probes ? (JSON.parse(r.probes) as Record<string, unknown>) : null,
  };
}

function migrate(db: Database.Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new UserError(`results database ${file} has schema version ${current}; this cnperf knows up to ${SCHEMA_VERSION}`, 'use a newer cnperf, or another --db');
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
