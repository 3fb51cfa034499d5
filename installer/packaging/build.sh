#!/usr/bin/env bash
# Builds the storeagent release artefacts into OUT_DIR (default: dist/ at the
# module root):
#   storeagent_<version>_linux_{amd64,arm64}   static binaries
#   storeagent_<version>_{amd64,arm64}.deb and storeagent-<version>.{x86_64,aarch64}.rpm
#   storeagent_<version>_windows_amd64.zip     storeagent.exe, config.sample.yaml, README-windows.txt
#   SHA256SUMS
#
# Usage: installer/packaging/build.sh [OUT_DIR]
# Environment:
#   VERSION       the version (default: the git tag at HEAD, else 0.0.0-dev);
#                 a leading "v" is dropped for the packages
#   LINUX_ARCHES  default "amd64 arm64"
#   SKIP_PACKAGES set to 1 to build the binaries only
#
# It builds whatever ./cmd/storeagent is, with CGO_ENABLED=0, -trimpath and
# -ldflags "-s -w -X main.version=<version>". nfpm runs through `go run` at a
# pinned version (not a dependency of the module): v2.46+ need modules the
# proxy does not serve.
set -euo pipefail

NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ -z "${VERSION:-}" ]]; then
	VERSION=$(git -C "$root" describe --tags --exact-match 2>/dev/null || true)
	VERSION=${VERSION:-0.0.0-dev}
fi
pkg_version=${VERSION#v}
if ! [[ "$pkg_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]]; then
	echo "build.sh: VERSION $VERSION is not a semantic version (1.2.3, 1.2.3-rc.1)" >&2
	exit 2
fi
LINUX_ARCHES=${LINUX_ARCHES:-amd64 arm64}

if [[ ! -d "$root/cmd/storeagent" ]]; then
	echo "build.sh: $root/cmd/storeagent does not exist yet" >&2
	exit 1
fi

build() { # GOOS GOARCH OUTPUT
	echo "build.sh: building $1/$2 -> $3"
	(cd "$root" && CGO_ENABLED=0 GOOS=$1 GOARCH=$2 go build -trimpath \
		-ldflags "-s -w -X main.version=$VERSION" -o "$3" ./cmd/storeagent)
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

for arch in $LINUX_ARCHES; do
	build linux "$arch" "$out/storeagent_${pkg_version}_linux_${arch}"
done
build windows amd64 "$stage/storeagent.exe"

if [[ "${SKIP_PACKAGES:-}" != 1 ]]; then
	for arch in $LINUX_ARCHES; do
		for packager in deb rpm; do
			echo "build.sh: packaging $packager for $arch"
			(cd "$here" && STOREAGENT_VERSION=$pkg_version STOREAGENT_ARCH=$arch \
				STOREAGENT_BINARY="$out/storeagent_${pkg_version}_linux_${arch}" \
				go run "$NFPM" package --config nfpm.yaml --packager "$packager" --target "$out/")
		done
	done
fi

# The Windows zip: text files with CRLF for Notepad users.
zipdir="$stage/storeagent_${pkg_version}_windows_amd64"
mkdir -p "$zipdir"
mv "$stage/storeagent.exe" "$zipdir/"
sed 's/$/\r/' "$here/config.sample.yaml" >"$zipdir/config.sample.yaml"
sed 's/$/\r/' "$here/README-windows.txt" >"$zipdir/README-windows.txt"
rm -f "$out/storeagent_${pkg_version}_windows_amd64.zip"
if command -v zip >/dev/null 2>&1; then
	(cd "$stage" && zip -q -r -X "$out/storeagent_${pkg_version}_windows_amd64.zip" "$(basename "$zipdir")")
else
	(cd "$stage" && python3 -m zipfile -c "$out/storeagent_${pkg_version}_windows_amd64.zip" "$(basename "$zipdir")")
fi

(cd "$out" && rm -f SHA256SUMS && sha256sum storeagent* >SHA256SUMS)
echo "build.sh: done:"
ls -l "$out"
