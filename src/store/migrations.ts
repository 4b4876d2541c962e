/** The results store's schema, as migrations applied in order by src/store/db.ts. */
/** Migrations in order; index i brings the schema from version i to i+1. Never edit a shipped one. */
export const MIGRATIONS: string[] = [
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

