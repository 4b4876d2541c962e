#!/usr/bin/env bash
# Sets cnperf up on a fresh Debian machine with Node 20, as root: the system tools it drives,
# its npm dependencies, the C engine (built here with gcc) and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

# iproute2: builds every datapath; ethtool: --offload; nftables, iptables: --netfilter; procps: sysctl
# inside our namespaces; openvswitch-switch: the ovs datapath; gcc/make: build the engine; sockperf and
# iperf3, qperf: the peers `npm run bench` compares against; util-linux: taskset for the bench's pinning and
# setpriv (perf dies with cnperf); linux-perf: --trace's per-function CPU profile; chromium: the test
# that opens a produced HTML report headless (through playwright-core, with Debian's browser);
# containernetworking-plugins: the CNI plugins the cni datapath runs; clang, libbpf-dev: the BPF programs
# of the xdp and tcx datapaths and their loader (engine/bpf/); bpftool: the tests list loaded programs;
# libelf-dev, zlib1g-dev: the static engine (the podman datapath's image); podman, netavark, runc: the
# podman datapath (aardvark-dns comes with netavark's network setup; runc because crun refuses cgroups v1
# hybrid hosts); tar: the image's root filesystem. qemu-system-x86, busybox-static: VM endpoints (the
# guest's kernel comes from Debian's linux-image-cloud-amd64, fetched by cnperf with apt-get download into
# /var/cache/cnperf on the first VM run — never installed on the host). dpdk, libdpdk-dev and its virtio and
# vhost drivers: cnperf-engine-dpdk and the testpmd datapath (with --no-install-recommends, the drivers by name);
# openvswitch-switch-dpdk: the ovs-dpdk datapath (cnperf runs its ovs-vswitchd-dpdk by path: the host's
# ovs-vswitchd alternative and service are left as they are). openssh-client: runs across real hosts
# (--hosts) go over ssh; openssh-server: the tests' simulated hosts each run their own sshd (the package's
# service is not started: the policy-rc.d below).
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v make >/dev/null 2>&1 || need+=(make)
command -v sockperf >/dev/null 2>&1 || need+=(sockperf)
command -v iperf3 >/dev/null 2>&1 || need+=(iperf3)
command -v qperf >/dev/null 2>&1 || need+=(qperf)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
command -v sysctl >/dev/null 2>&1 || need+=(procps)
command -v ovs-vswitchd >/dev/null 2>&1 || need+=(openvswitch-switch)
command -v perf >/dev/null 2>&1 || need+=(linux-perf)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v clang >/dev/null 2>&1 || need+=(clang)
[ -f /usr/include/bpf/libbpf.h ] || need+=(libbpf-dev)
command -v bpftool >/dev/null 2>&1 || need+=(bpftool)
[ -f /usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/libelf.a ] || need+=(libelf-dev)
[ -f /usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/libz.a ] || need+=(zlib1g-dev)
command -v podman >/dev/null 2>&1 || need+=(podman)
[ -x /usr/lib/podman/netavark ] || need+=(netavark)
[ -x /usr/lib/podman/aardvark-dns ] || need+=(aardvark-dns)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v tar >/dev/null 2>&1 || need+=(tar)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v dpdk-testpmd >/dev/null 2>&1 || need+=(dpdk)
pkg-config --exists libdpdk 2>/dev/null || need+=(libdpdk-dev pkg-config)
dpkg -s librte-net-virtio23 >/dev/null 2>&1 || need+=(librte-net-virtio23)
dpkg -s librte-net-vhost23 >/dev/null 2>&1 || need+=(librte-net-vhost23)
[ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ] || need+=(openvswitch-switch-dpdk)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  apt-get update -qq
  # cnperf starts private OVS daemons per run: keep the package from starting the host's own service
  # (a policy-rc.d of ours, only where the machine has none).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# The VM endpoints' kernel is fetched with apt-get download on the first VM run: apt must know it.
if [ ! -d /var/cache/cnperf/kernel ] && ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  apt-get update -qq
fi

# better-sqlite3 compiles from source here (no prebuilt downloads): skip npm ci when nothing changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (compiles better-sqlite3, about two minutes)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run --silent build
echo "setup: done; try: bin/cnperf quick loopback veth bridge" >&2
