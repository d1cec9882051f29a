#!/usr/bin/env bash
# Makes agentrt's release artifacts (README "Install", docs/development.md "Releases"): in OUT_DIR
# (default dist/ of the source tree, where the deploy recipes under sandbox-images/ take the
# tarball from)
#
#   agentrt-VERSION-linux-ARCH.tar.gz   the portable agentrt and agentrt-client, stripped
#   agentrt_VERSION-1_DEBARCH.deb               the runtime            (bin/agentrt)
#   agentrt-client_VERSION-1_DEBARCH.deb        the CLI                (bin/agentrt-client)
#   libagentrt-client-dev_VERSION-1_DEBARCH.deb the client library     (headers, .a, CMake, .pc)
#   SHA256SUMS                                  `sha256sum -c SHA256SUMS` checks them
#
# Usage: packaging/release.sh [--build-dir DIR] [--out DIR] [--no-deps] [--from-build DIR]
#   --no-deps          do not run sandbox-images/install-deps.sh release (it needs root or sudo)
#   --from-build DIR   package an existing build tree (configured with -DAGENTRT_PORTABLE=ON and
#                      built) instead of configuring and building one; what tests/package's
#                      release check does with CI's tree. Its packages keep that tree's install
#                      layout (a tree not configured for /usr puts the libraries in /usr/lib).
#
# The build is its own tree (default build-release): /usr prefix (so the packages get Debian's
# multiarch libdir), Release at -O2 as Debian builds its packages, no tests or samples, and the
# portable binaries; everything that ships is stripped. With ccache a rebuild is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-release
out_dir=""
install_deps=1
from_build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --from-build) build_dir="$2"; from_build=1; shift 2 ;;
    --out) out_dir="$2"; shift 2 ;;
    --no-deps) install_deps=0; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "release.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
out_dir="${out_dir:-dist}"

if [ "$install_deps" -eq 1 ]; then
  bash sandbox-images/install-deps.sh release
fi

# shellcheck source=tests/ccache-launcher.sh
source tests/ccache-launcher.sh
jobs="${AGENTRT_JOBS:-$(nproc)}"

if [ "$from_build" -eq 0 ]; then
  echo "=== release: build ($build_dir)"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_INSTALL_PREFIX=/usr \
        -DAGENTRT_PORTABLE=ON -DAGENTRT_BUILD_TESTS=OFF -DAGENTRT_BUILD_SAMPLES=OFF \
        "${launcher[@]}" >/dev/null
  cmake --build "$build_dir" -j"$jobs"
elif ! grep -q '^AGENTRT_PORTABLE:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  echo "release.sh: $build_dir is not a build tree configured with -DAGENTRT_PORTABLE=ON" >&2
  exit 1
fi

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build_dir/CPackConfig.cmake")
arch=$(uname -m)
name="agentrt-$version-linux-$arch"
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
rm -f "$out_dir"/agentrt*.tar.gz "$out_dir"/*.deb "$out_dir/SHA256SUMS"

# The oldest glibc the binaries can run on: the newest GLIBC_x.y symbol version they reference.
min_glibc() {
  objdump -T "$@" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1
}

echo "=== release: $name.tar.gz"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build_dir" --component portable --prefix "$stage/$name" >/dev/null
strip --strip-all "$stage/$name/bin/agentrt" "$stage/$name/bin/agentrt-client"
glibc=$(min_glibc "$stage/$name/bin/agentrt" "$stage/$name/bin/agentrt-client")
cp sandbox-images/portable-dynamic-libs.txt "$stage/$name/"
cat >"$stage/$name/README" <<EOF
agentrt $version, portable binaries for Linux $arch

  bin/agentrt          the runtime (agentrt --help)
  bin/agentrt-client   the command-line client (agentrt-client --help)

Both link libstdc++, libgcc and OpenSSL statically. They need glibc >= $glibc; agentrt-client
needs nothing else, agentrt also the shared libraries portable-dynamic-libs.txt lists (on
Debian/Ubuntu: apt-get install libgssapi-krb5-2 libsasl2-2 libp11-kit0 ca-certificates).
Documentation: README.md of the agentrt source tree ("Install", "Portable binary").
EOF
# Reproducible: fixed order, owner and timestamps (SOURCE_DATE_EPOCH, else the last commit's).
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -C "$stage" -cf - "$name" | gzip -n -6 >"$out_dir/$name.tar.gz"

echo "=== release: Debian packages"
# CPack stages under the build dir; the .deb files then move to OUT_DIR.
build_abs=$(cd "$build_dir" && pwd)
rm -rf "$build_abs/cpack"
(cd "$build_abs" && cpack -G DEB -B "$build_abs/cpack" >/dev/null)
mv "$build_abs"/cpack/*.deb "$out_dir/"
rm -rf "$build_abs/cpack"

(cd "$out_dir" && sha256sum -- *.tar.gz *.deb >SHA256SUMS)
echo "=== release: $out_dir (minimum glibc $glibc)"
(cd "$out_dir" && ls -l -- *.tar.gz *.deb && cat SHA256SUMS)
