/**
 * A kernel-bypass run's hugepages come back even when a process of the run outlived its stop: it
 * maps a file of the run's own hugetlbfs, so the mount's undo kills it (the DPDK teardown flake of
 * the full suite: testpmd alive 20 s after teardown, its pages never returned). No DPDK needed: a
 * process mapping a 2 MB page of the mount stands for the switch.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hugepagesUnavailable, reserveHugepages } from '../../src/datapaths/dpdk/hugepages.js';
import { Journal } from '../../src/local/journal.js';
import { ensureRunDir } from '../../src/local/statedir.js';
import { undoAll } from '../../src/local/undo.js';
import { stateDir } from '../../src/paths.js';
import { hostSnapshot, sleep } from '../helpers/host.js';

const PAGES = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
// a process of the run that maps one 2 MB page of its mount and ignores SIGTERM, as a busy DPDK
// process may seem to (C, built here with the engine's compiler: nothing else maps a hugetlbfs file)
const MAP_ONE_PAGE = `
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = open(argv[1], O_CREAT | O_RDWR, 0600);
  if (argc < 2 || fd < 0 || ftruncate(fd, 2 << 20) < 0) return 1;
  char *m = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return 1;
  m[0] = 1;
  signal(SIGTERM, SIG_IGN);
  printf("mapped\\n");
  fflush(stdout);
  for (;;) pause();
}
`;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnperf-hugepages-'));
const holderProgram = path.join(tmp, 'map-one-page');
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('hugepages of a kernel-bypass run', { skip: hugepagesUnavailable() ?? false }, () => {
  before(() => {
    writeFileSync(`${holderProgram}.c`, MAP_ONE_PAGE);
    execFileSync('gcc', ['-O1', '-o', holderProgram, `${holderProgram}.c`]);
  });

  it('come back with their mount when a process of the run still maps them: the mount undo kills it', async () => {
    const before = hostSnapshot();
    const pagesBefore = readFileSync(PAGES, 'utf8').trim();
    const runId = `cnph${Math.random().toString(36).slice(2, 7).padEnd(5, '0')}`;
    const journal = Journal.create(stateDir(), { runId, kind: 'run', datapath: 'testpmd' });
    ensureRunDir(path.join(stateDir(), runId), journal);
    const dir = path.join(stateDir(), runId, 'hugepages');
    await reserveHugepages(2, dir, journal);
    const holder = spawn(holderProgram, [path.join(dir, 'map_0')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => holder.on('exit', (_c, sig) => resolve(sig)));
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (b: Buffer) => b.toString().includes('mapped') && resolve());
        holder.on('exit', () => reject(new Error('the holder exited before mapping its page')));
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
