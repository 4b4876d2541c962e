#!/usr/bin/env bash
# Sets cnperf up on a fresh Debian machine with Node 20, as root: the system tools it drives,
# its npm dependencies, the C engine (built here with gcc) and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."

# What to install comes from the tool table (src/tools/tools.json: every program cnperf, its tests and
# its benchmarks run, every file its builds need, each with its Debian package and what needs it):
# the packages of whatever this machine lacks. A test (test/unit/tools.test.ts) checks that the code
# spawns nothing the table omits and that each package named owns its file.
missing=$(node scripts/tools.mjs missing) # stops here (set -e) when the table cannot be read
read -ra need <<< "$(echo $missing)"
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
