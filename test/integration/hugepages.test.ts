/**
 * A kernel-bypass run's hugepages come back even when a process of the run outlived its stop: it
 * maps a file of the run's own hugetlbfs, so the mount's undo kills it (the DPDK teardown flake of
 * the full suite: testpmd alive 20 s after teardown, its pages never returned). No DPDK needed: a
 * python process mapping a 2 MB page of the mount stands for the switch.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hugepagesUnavailable, reserveHugepages } from '../../src/datapaths/dpdk/hugepages.js';
import { Journal } from '../../src/local/journal.js';
import { ensureRunDir } from '../../src/local/statedir.js';
import { undoAll } from '../../src/local/undo.js';
import { stateDir } from '../../src/paths.js';
import { hostSnapshot, sleep } from '../helpers/host.js';

const PAGES = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const MAP_ONE_PAGE = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o600)
os.ftruncate(fd, 2 << 20)
m = mmap.mmap(fd, 2 << 20, mmap.MAP_SHARED)
m[0] = 1
print('mapped', flush=True)
# ignores SIGTERM, as a busy DPDK process may seem to
import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True: signal.pause()
`;

describe('hugepages of a kernel-bypass run', { skip: hugepagesUnavailable() ?? false }, () => {
  it('come back with their mount when a process of the run still maps them: the mount undo kills it', async () => {
    const before = hostSnapshot();
    const pagesBefore = readFileSync(PAGES, 'utf8').trim();
    const runId = `cnph${Math.random().toString(36).slice(2, 7).padEnd(5, '0')}`;
    const journal = Journal.create(stateDir(), { runId, kind: 'run', datapath: 'testpmd' });
    ensureRunDir(path.join(stateDir(), runId), journal);
    const dir = path.join(stateDir(), runId, 'hugepages');
    await reserveHugepages(2, dir, journal);
    const holder = spawn('python3', ['-c', MAP_ONE_PAGE, path.join(dir, 'map_0')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => holder.on('exit', (_c, sig) => resolve(sig)));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (b: Buffer) => b.toString().includes('mapped') && resolve());
        holder.on('exit', () => reject(new Error('the python holder exited before mapping its page')));
      });
      const report = await undoAll(journal.undos());
      assert.deepEqual(report.failed, []);
      assert.equal(await Promise.race([exited, sleep(2000).then(() => 'alive')]), 'SIGKILL');
      assert.equal(readFileSync(PAGES, 'utf8').trim(), pagesBefore);
      assert.equal(existsSync(dir) && readFileSync('/proc/mounts', 'utf8').includes(` ${dir} `), false);
    } finally {
      holder.kill('SIGKILL');
      await exited;
      await undoAll(journal.undos()); // again, when the first left something: each undo is idempotent
      journal.remove();
    }
    assert.deepEqual(hostSnapshot(), before);
  });
});
