#!/usr/bin/env bash
# Builds Cronium's release artifacts from this checkout, offline (Debian packages only):
#   scripts/package.sh           the tarball: .build/package/cronium-VERSION-linux-ARCH.tar.gz
#   scripts/package.sh --image   the tarball, then the OCI image cronium:VERSION (podman; through
#                                the API socket in CRONIUM_CONTAINER_SOCKET when set)
# The binaries link Swift's standard library and Foundation statically: the target machine needs
# no Swift, only the C libraries docs/operations.md lists. Sizes are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

image=false
[ "${1:-}" = "--image" ] && image=true

version=$(sed -n 's/.*public static let version = "\(.*\)"/\1/p' Sources/CroniumRunnerKit/RunnerVersion.swift)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then commit="$commit+changes"; fi
built=$(date -u +%Y-%m-%d)
arch=$(uname -m)
name=cronium-$version-linux-$arch
out=.build/package
# A build directory of its own: the commit and date are compiled in, and the everyday
# `swift build -c release` must not be rebuilt for them.
scratch=.build/package-build

step() { echo "scripts/package.sh: $*" >&2; }

# The commit and date go into CCroniumBuild's one C file for the build, and the file is put back
# afterwards: given as compiler flags instead, they would rebuild every target at every commit.
info=Sources/CCroniumBuild/build.c
cp "$info" "$scratch.build.c"
trap 'cp "$scratch.build.c" "$info" && rm -f "$scratch.build.c"' EXIT
sed -i -e "s|^#define CRONIUM_COMMIT \"\"|#define CRONIUM_COMMIT \"$commit\"|" \
  -e "s|^#define CRONIUM_BUILD_DATE \"\"|#define CRONIUM_BUILD_DATE \"$built\"|" "$info"
# Stripped (-s), and exporting no symbols: swiftc exports every one of an executable's 61,000,
# which costs 2 MB of resident memory and nothing uses. Still position-independent, so that the
# binary's own code and data stay at random addresses (see docs/performance.md, A6).
link=(-Xlinker -s -Xlinker --no-export-dynamic)
for product in cronium cronium-runner; do
  step "building $product $version ($commit) for $arch, release, static Swift runtime"
  swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product" "${link[@]}"
done
bin=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path "${link[@]}")

rm -rf "${out:?}/$name" "$out/$name.tar.gz"
mkdir -p "$out/$name/bin" "$out/$name/share/cronium" "$out/$name/share/doc/cronium/licenses" \
  "$out/$name/share/bash-completion/completions" "$out/$name/share/zsh/site-functions" \
  "$out/$name/share/fish/vendor_completions.d"
install -m 0755 "$bin/cronium" "$bin/cronium-runner" "$out/$name/bin/"
install -m 0644 packaging/cronium.service "$out/$name/share/cronium/"
install -m 0644 docs/operations.md "$out/$name/share/doc/cronium/"
"$bin/cronium" completion bash > "$out/$name/share/bash-completion/completions/cronium"
"$bin/cronium" completion zsh > "$out/$name/share/zsh/site-functions/_cronium"
"$bin/cronium" completion fish > "$out/$name/share/fish/vendor_completions.d/cronium.fish"

# The licences of what is linked in: each package's, and Swift's runtime and Foundation's.
# Vendored C libraries (BoringSSL, llhttp, SQLite…) carry theirs beside their sources.
for checkout in "$scratch"/checkouts/*/; do
  package=$(basename "$checkout")
  (cd "$checkout" && find . -maxdepth 3 \( -iname 'LICENSE*' -o -iname 'NOTICE*' -o -iname 'COPYING*' \) -type f -not -path './Tests/*') |
    while read -r file; do
      install -m 0644 "$checkout$file" "$out/$name/share/doc/cronium/licenses/$package$(echo "${file#.}" | tr / .)"
    done
done
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
for file in "$toolchain"/share/swift/LICENSE.txt "$toolchain"/share/doc/swift/LICENSE.txt; do
  [ -f "$file" ] && install -m 0644 "$file" "$out/$name/share/doc/cronium/licenses/swift.LICENSE.txt" && break
done

cat > "$out/$name/README" <<README
Cronium $version ($commit, built $built) for Linux $arch.

Install (as root):  tar -C /usr/local --strip-components=1 -xzf $name.tar.gz
Run:                cronium serve
As a service:       share/cronium/cronium.service; see share/doc/cronium/operations.md
README
tar -C "$out" --owner=0 --group=0 -czf "$out/$name.tar.gz" "$name"
step "tarball $out/$name.tar.gz: $(du -h "$out/$name.tar.gz" | cut -f1) (cronium $(du -h "$bin/cronium" | cut -f1), cronium-runner $(du -h "$bin/cronium-runner" | cut -f1))"
step "shared libraries cronium needs: $(ldd "$bin/cronium" | awk '{print $1}' | tr '\n' ' ')"

$image || exit 0
scripts/package-image.sh "$out/$name" "$version" "$commit"
