import { streamSummary } from '../helpers/records.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, describe, it } from 'node:test';
import { Histogram } from '../../src/stats/histogram.js';
import { SCHEMA_VERSION, Store, type RunRecord } from '../../src/store/db.js';
import { UserError } from '../../src/util/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cnperf-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function record(id: string, created: string): RunRecord {
  const h = new Histogram();
  for (const v of [20_000, 25_000, 30_000]) h.record(v);
  return {
    id,
    batch_id: 'batch1',
    created_at: created,
    datapath: 'veth',
    workload: 'stream',
    params: { count: 3 },
    topology: { runId: id },
    env: { kernel: '6.1' },
    status: 'ok',
    problem: null,
    samples: 3,
    lost: 0,
    summary: streamSummary({ rx_pps: 25_000 }),
    engine: null,
    histogram: h.encode(),
    raw: null,
    series: { tx: [], rx: [{ t: 0, ns: 1e9, packets: 5, bytes: 320 }] },
  };
}

describe('store', () => {
  it('creates the schema at the current version and round-trips a run', () => {
    const s = Store.open(path.join(dir, 'a', 'results.sqlite'));
    assert.equal(s.schemaVersion(), SCHEMA_VERSION);
    s.saveRun(record('abc123', '2026-01-01T00:00:00.000Z'));
    s.saveRun(record('abd456', '2026-01-02T00:00:00.000Z'));
    const list = s.listRuns();
    assert.deepEqual(
      list.map((r) => r.id),
      ['abd456', 'abc123'],
    ); // newest first
    const r = s.findRun('abc');
    assert.equal(r.id, 'abc123');
    assert.deepEqual(r.params, { count: 3 });
    assert.equal(Histogram.decode(r.histogram!).valueAtQuantile(0.5), 25_000);
    assert.deepEqual(r.series, { tx: [], rx: [{ t: 0, ns: 1e9, packets: 5, bytes: 320 }] });
    s.close();
  });

  it('finds by unambiguous prefix only, with errors a user can act on', () => {
    const s = Store.open(path.join(dir, 'a', 'results.sqlite'));
    assert.throws(
      () => s.findRun('ab'),
      (e: unknown) => e instanceof UserError && /matches several runs: abc123, abd456/.test(e.message),
    );
    assert.throws(
      () => s.findRun('zzz'),
      (e: unknown) => e instanceof UserError && /no run 'zzz'/.test(e.message),
    );
    assert.throws(
      () => s.findRun("x' OR 1=1"),
      (e: unknown) => e instanceof UserError && /not a run id/.test(e.message),
    );
    s.close();
  });

  it('migrates a version-1 database forward, keeping its runs', () => {
    const file = path.join(dir, 'v1.sqlite');
    const db = new Database(file);
    db.exec(
      `CREATE TABLE runs (id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, created_at TEXT NOT NULL, ` +
        `datapath TEXT NOT NULL,
      workload TEXT NOT NULL, params TEXT NOT NULL, topology TEXT NOT NULL, env TEXT NOT NULL, status TEXT NOT NULL,
      problem TEXT, samples INTEGER NOT NULL, lost INTEGER NOT NULL, summary TEXT, engine TEXT, histogram ` +
        `BLOB, raw BLOB);`,
    );
    db.exec(
      `INSERT INTO runs VALUES ` +
        `('old111','b','2025-01-01','veth','rtt','{}','{}','{}','ok',NULL,1,0,NULL,NULL,NULL,NULL)`,
    );
    db.pragma('user_version = 1');
    db.close();
    const s = Store.open(file);
    assert.equal(s.schemaVersion(), SCHEMA_VERSION);
    assert.equal(s.findRun('old111').series, null);
    s.close();
  });

  it('refuses a database written by a newer cnperf instead of misreading it', () => {
    const file = path.join(dir, 'newer.sqlite');
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => Store.open(file),
      (e: unknown) => e instanceof UserError && /schema version/.test(e.message),
    );
  });

  it('keeps existing runs when reopened (migrations run once)', () => {
    const s = Store.open(path.join(dir, 'a', 'results.sqlite'));
    assert.equal(s.listRuns().length, 2);
    s.close();
  });
});
