#!/usr/bin/env bash
# Builds the OCI image localhost/cnperf:VERSION from Debian packages, as root, with no registry:
# a Debian root filesystem made by debootstrap from this machine's own apt mirror, the packages of the
# tool table's 'run' entries (src/tools/tools.json), this machine's Node (Debian 12 ships Node 18;
# cnperf needs 20), and cnperf as built here (dist/, the engines, the BPF objects, production npm
# packages). `podman import` turns the tree into the image. Prints the image's size.
#
#   bash scripts/image.sh            # then, as docs/image.md says:
#   podman run --rm --privileged --network host --pid host -v /run/netns:/run/netns:shared \
#     -v /var/run/cnperf:/var/run/cnperf localhost/cnperf:VERSION quick veth
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "image: run as root (debootstrap, chroot)" >&2; exit 2; }
for t in debootstrap podman node; do
  command -v "$t" >/dev/null 2>&1 || { echo "image: $t is missing: bash scripts/setup.sh installs it" >&2; exit 2; }
done

version=$(node -p 'require("./package.json").version')
tag="localhost/cnperf:$version"
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
# The mirror this machine's apt uses (deb822 or one-line sources), never one named here.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "'"$suite"'" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "image: no Debian mirror found in this machine's apt sources" >&2; exit 2; }

work=$(mktemp -d /var/tmp/cnperf-image.XXXXXX)
rootfs="$work/rootfs"
cleanup() {
  # a chroot's /proc and /dev must be unmounted before its tree is removed
  for m in proc dev/pts dev; do mountpoint -q "$rootfs/$m" 2>/dev/null && umount -l "$rootfs/$m"; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "image: building cnperf" >&2
npm run --silent build

# The tool table's programs that cnperf itself runs: their packages, each once.
mapfile -t packages < <(node -e '
  const { tools } = require("./src/tools/tools.json");
  console.log([...new Set(tools.filter((t) => t.use === "run" && !t.optional).map((t) => t.package))].join("\n"));')

echo "image: debootstrap $suite from $mirror" >&2
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# the same sources as this machine (security updates too), in place of debootstrap's one line
if [ -f /etc/apt/sources.list.d/debian.sources ]; then cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/" && rm -f "$rootfs/etc/apt/sources.list"; fi
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d" && chmod +x "$rootfs/usr/sbin/policy-rc.d"
mount -t proc proc "$rootfs/proc"
mount --bind /dev "$rootfs/dev"
echo "image: installing ${#packages[@]} packages: ${packages[*]}" >&2
chroot "$rootfs" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -qq --no-install-recommends libstdc++6 "${packages[@]}" >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; exit 1; }
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs/usr/sbin/policy-rc.d"
umount "$rootfs/dev" "$rootfs/proc"

echo "image: copying Node and cnperf" >&2
install -m 0755 "$(readlink -f "$(command -v node)")" "$rootfs/usr/bin/node"
app="$rootfs/opt/cnperf"
mkdir -p "$app/dist" "$app/engine/bpf" "$app/src/tools" "$rootfs/var/lib/cnperf"
cp -a bin package.json package-lock.json experiments "$app/"
cp -a dist/src "$app/dist/"
cp -a src/tools/tools.json "$app/src/tools/"
cp -a engine/cnperf-engine engine/cnperf-engine-static engine/cnperf-wire "$app/engine/"
[ -f engine/cnperf-engine-dpdk ] && cp -a engine/cnperf-engine-dpdk "$app/engine/"
cp -a engine/bpf/cnperf-bpf engine/bpf/*.bpf.o "$app/engine/bpf/"
cp -a node_modules "$app/"
(cd "$app" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error)
ln -s /opt/cnperf/bin/cnperf "$rootfs/usr/local/bin/cnperf"

echo "image: importing $tag" >&2
podman rmi -f "$tag" >/dev/null 2>&1 || true
tar -C "$rootfs" -c . | podman import \
  --change 'ENTRYPOINT ["/opt/cnperf/bin/cnperf"]' \
  --change 'WORKDIR /var/lib/cnperf' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL org.opencontainers.image.title=cnperf org.opencontainers.image.version=$version" \
  - "$tag" >/dev/null
size=$(podman image inspect "$tag" --format '{{.Size}}')
echo "image: $tag built: $((size / 1024 / 1024)) MiB" >&2
echo "$tag"
