#!/usr/bin/env bash
# A manual check (not in CI: about 100 MB from Debian's mirror, minutes, root): runs the Docker
# runtime stage's install step (sandbox-images/docker/Dockerfile, the RUN that installs the
# release) in a real minimal Debian 12 made by debootstrap, then starts the installed agentrt
# there as the image's user and drives it from outside with agentrt-client: /health, git, the
# user, the Debian release. The closest this machine (no Docker engine) gets to `docker build`.
#
#   bash tests/images/rehearse_runtime_stage.sh ROOT AGENTRT_PORTABLE AGENTRT_CLIENT
#
# ROOT: an empty directory, or one debootstrap --variant=minbase bookworm already filled (reused).
set -euo pipefail

[ $# -eq 3 ] || { echo "usage: $0 ROOT AGENTRT_PORTABLE AGENTRT_CLIENT" >&2; exit 2; }
root="$(realpath -m "$1")"
agentrt="$2"
client="$3"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "needs root (debootstrap, chroot)" >&2; exit 2; }

[ -x "$root/usr/bin/apt-get" ] || debootstrap --variant=minbase bookworm "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT

# The release tarball, as the release command lays it out, and the scripts the stage copies.
staging="$(mktemp -d)"
top="$staging/agentrt-rehearsal-linux-x86_64"
install -D -m 0755 "$agentrt" "$top/bin/agentrt"
install -D -m 0755 "$client" "$top/bin/agentrt-client"
tar -czf "$root/tmp/agentrt.tar.gz" -C "$staging" "$(basename "$top")"
rm -rf "$staging"
mkdir -p "$root/opt/agentrt"
cp "$repo"/sandbox-images/{install-deps.sh,install-release.sh,healthcheck.sh} "$root/opt/agentrt/"

# The RUN instruction's shell text, taken from the Dockerfile itself (its bind mount becomes
# the file copied above).
step="$(awk '/^RUN --mount=type=bind,source=dist/ {on=1; next} on {print} on && !/\\$/ {exit}' \
  "$repo/sandbox-images/docker/Dockerfile" | sed 's/\\$//' | tr '\n' ' ')"
# A reused root still has the user the step creates.
chroot "$root" userdel -r agent >/dev/null 2>&1 || true
echo "=== the runtime stage's install step:"
echo "$step"
chroot "$root" /bin/sh -c "set -e; $step"

port=18097
chroot --userspec=10001:10001 "$root" /usr/bin/env HOME=/home/agent AGENTRT_TOKEN=rehearsal \
  /usr/local/bin/agentrt --host 127.0.0.1 --port "$port" --workdir /work &
pid=$!
for _ in $(seq 50); do
  chroot "$root" /opt/agentrt/healthcheck.sh "$port" && break
  sleep 0.1
done
chroot "$root" /opt/agentrt/healthcheck.sh "$port"
echo "=== healthcheck.sh inside the root: ok"
AGENTRT_TOKEN=rehearsal "$client" exec "ws://127.0.0.1:$port/" --cwd /work -- \
  'git --version' 'id' 'cat /etc/debian_version' 'git init -q repo && git -C repo status --short'
echo "=== the runtime stage works in a minimal Debian 12"
