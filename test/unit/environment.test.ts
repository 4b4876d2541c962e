import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectEnvironment, preemptionModel, virtualization } from '../../src/env/environment.js';

describe('environment', () => {
  it('names the preemption model from uname -v', () => {
    assert.equal(preemptionModel('#1 SMP PREEMPT_RT Thu Jan 1', null), 'PREEMPT_RT');
    assert.equal(preemptionModel('#1 SMP PREEMPT_DYNAMIC @0', null), 'PREEMPT_DYNAMIC');
    assert.equal(preemptionModel('#1 SMP PREEMPT_DYNAMIC @0', 'none voluntary (full) lazy'), 'PREEMPT_DYNAMIC (full)');
    assert.equal(preemptionModel('#1 SMP PREEMPT Mon', null), 'PREEMPT');
    assert.equal(preemptionModel('#1 SMP Debian 6.1', null), 'none (voluntary or server)');
  });

  it('detects a hypervisor from CPU flags and DMI', () => {
    const guest = 'processor : 0\nflags\t\t: fpu vme hypervisor avx\n';
    assert.equal(virtualization(guest, 'QEMU', 'Standard PC'), 'kvm');
    assert.equal(virtualization(guest, null, null), 'unknown hypervisor');
    assert.equal(virtualization('flags\t\t: fpu vme avx\n', 'Dell Inc.', 'R640'), null);
  });

  it('collects what a run needs to be interpreted', () => {
    const e = collectEnvironment('0.1.0');
    assert.ok(e.kernel.length > 0);
    assert.ok(e.cpu_count >= 1);
    assert.equal(e.engine_version, '0.1.0');
    assert.match(e.node_version, /^v\d+/);
  });
});
