#!/usr/bin/env bash
# Builds the OCI image cronium:VERSION from a directory scripts/package.sh made, offline: a
# minimal Debian root made by mmdebstrap from this machine's apt sources (the runtime, bubblewrap,
# and the interpreters events run with), the binaries, a non-root user, the data directory as a
# volume and a health check on /ready. Called by `scripts/package.sh --image`:
#   scripts/package-image.sh .build/package/cronium-VERSION-linux-ARCH VERSION COMMIT
set -euo pipefail
cd "$(dirname "$0")/.."
package=$1 version=$2 commit=$3

step() { echo "scripts/package-image.sh: $*" >&2; }
for tool in mmdebstrap podman; do
  command -v $tool >/dev/null || { echo "scripts/package-image.sh: $tool is missing (scripts/podman.sh start installs it)" >&2; exit 69; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
sources=()
[ -s /etc/apt/sources.list ] && sources+=(/etc/apt/sources.list)
for file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -e "$file" ] && sources+=("$file"); done

# The user 999 owns the data directory; bash, python3 and node run the events' scripts;
# bubblewrap is their sandbox; tzdata gives schedules their zones; ca-certificates lets HTTP
# events and tools reach HTTPS.
step "mmdebstrap $suite"
mmdebstrap --variant=minbase --quiet \
  --include=bubblewrap,ca-certificates,tzdata,python3,nodejs \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="cp -r '$PWD/$package/bin/.' \"\$1/usr/local/bin/\" && mkdir -p \"\$1/usr/local/share\" && cp -r '$PWD/$package/share/.' \"\$1/usr/local/share/\"" \
  --customize-hook='echo "cronium:x:999:999:Cronium:/var/lib/cronium:/usr/sbin/nologin" >> "$1/etc/passwd"; echo "cronium:x:999:" >> "$1/etc/group"' \
  --customize-hook='mkdir -p "$1/var/lib/cronium" && chown 999:999 "$1/var/lib/cronium" && chmod 0700 "$1/var/lib/cronium"' \
  --customize-hook='rm -rf "$1/var/lib/apt/lists"/* "$1/var/cache/apt"/* "$1/var/log"/*' \
  "$suite" "$work/rootfs.tar" "${sources[@]}"

cat > "$work/Containerfile" <<CONTAINERFILE
FROM scratch
ADD rootfs.tar /
LABEL org.opencontainers.image.title="Cronium" org.opencontainers.image.version="$version" org.opencontainers.image.revision="$commit"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \\
    CRONIUM_DATA_DIR=/var/lib/cronium CRONIUM_HOST=0.0.0.0 CRONIUM_URL=http://127.0.0.1:5001
USER 999:999
WORKDIR /var/lib/cronium
VOLUME /var/lib/cronium
EXPOSE 5001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/cronium", "status", "--quiet"]
ENTRYPOINT ["/usr/local/bin/cronium"]
CMD ["serve"]
CONTAINERFILE

step "podman build cronium:$version"
podman build --quiet --format docker --tag "cronium:$version" --tag cronium:latest "$work" >/dev/null
size=$(podman image inspect "cronium:$version" --format '{{.Size}}')
step "image cronium:$version: $((size / 1048576)) MiB"
