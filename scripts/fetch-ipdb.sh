#!/usr/bin/env bash
# Fetches the pinned ip-location-db data packages that the embedded snapshot
# is built from, checks their integrity, and unpacks them under DIR
# (default .cache/ipdb). Then build the snapshot with:
#
#   go run ./cmd/sovmap data build --from .cache/ipdb -o internal/snapshot/data/sovmap.snap
#
# Needs npm (it uses `npm pack`, which downloads a package tarball without
# installing it).
set -euo pipefail

VERSION=2.3.2026061719
# name  sha512 integrity of the tarball (from `npm pack --json`)
PACKAGES=(
  "asn sha512-PpqYi7wyEyWwunXBtl+y3Vi403SvNywotWwvmiYCOUtE0SVol/Sf492Ee+eErEznmGapxEQB2SAfrpXuZ9a+vQ=="
  "asn-country sha512-KN/mUGqf/nwkI0RDvv4knOc5xGXxbooU1MlTXThEJcJVyWxHoCx6oRed8p7NguGKZRpQPmZWdWw/zslHZsUC6Q=="
  "geo-whois-asn-country sha512-9MQ3r2q+GDLwW+Mye5duWnHe3n1qB1ZcNUcM9P58CpdW86Gt44AgfIrem6Pcy/tbCHhQ70RJCLngQQyYnaEjbw=="
)

dir=${1:-.cache/ipdb}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for entry in "${PACKAGES[@]}"; do
  read -r name want <<<"$entry"
  echo "fetching @ip-location-db/$name@$VERSION" >&2
  (cd "$tmp" && npm pack --silent "@ip-location-db/$name@$VERSION" >/dev/null)
  tgz="$tmp/ip-location-db-$name-$VERSION.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$want" ]]; then
    echo "integrity mismatch for $name: got $got, want $want" >&2
    exit 1
  fi
  rm -rf "${dir:?}/$name"
  mkdir -p "$dir/$name"
  tar -xzf "$tgz" -C "$dir/$name" --strip-components=1
  echo "$got" >"$dir/$name/INTEGRITY"
done
echo "unpacked into $dir" >&2
