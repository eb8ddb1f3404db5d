#!/usr/bin/env bash
# Rebuilds the embedded snapshot (internal/snapshot/data/sovmap.snap): the
# pinned ip-location-db packages, downloaded afresh and checked by
# scripts/fetch-ipdb.sh, plus the providers' official IP-range feeds found in
# FEEDS_DIR, read and checked as 'sovmap data update --from FEEDS_DIR' reads
# them (file names as 'sovmap data sources' lists them).
#
#   scripts/build-embedded.sh [FEEDS_DIR [FEEDS_DATE]]
#
# FEEDS_DIR defaults to ../shared/data/femueller-cloud-ip-ranges (relative to
# the repository's folder), the copies of the feeds taken on 2025-07-25. A feed whose
# file states no date (Azure's, GitHub's, Cloudflare's, ...) gets FEEDS_DATE
# (YYYY-MM-DD): 2025-07-25 for the default folder; for another folder, the
# files' modification dates unless FEEDS_DATE is given. To build from feeds
# downloaded now:
#
#   go run ./cmd/sovmap data update --data-dir .cache/feeds \
#     --only github,aws,google-cloud,azure,oracle-cloud,cloudflare,fastly,akamai,linode,digitalocean,vultr,zscaler \
#     --source azure=https://download.microsoft.com/.../ServiceTags_Public_YYYYMMDD.json
#   scripts/build-embedded.sh .cache/feeds/raw
#
# (raw/ holds the files as downloaded, dated the day of the download; Akamai
# has no download URL: copy its files into raw/ first.)
#
# The build is deterministic: the same packages and feed files (and dates)
# give the same file. Then run the embedded snapshot's checks:
#
#   go test ./internal/snapshot/ ./internal/cli/ ./internal/update/
set -euo pipefail
feeds=${1:+$(realpath -m "$1")} # relative to the current folder
date=${2:-}
cd "$(dirname "$0")/.."

default_feeds=../shared/data/femueller-cloud-ip-ranges
feeds=${feeds:-$default_feeds}
if [[ ! -d "$feeds" ]]; then
  echo "build-embedded: $feeds: no such folder" >&2
  exit 1
fi
if [[ -z "$date" && "$(realpath "$feeds")" == "$(realpath -m "$default_feeds")" ]]; then
  date=2025-07-25 # commit 60937f4 of femueller/cloud-ip-ranges, per its SOURCE.md
fi
if [[ -n "$date" && ! "$date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
  echo "build-embedded: FEEDS_DATE $date: want YYYY-MM-DD" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scripts/fetch-ipdb.sh "$tmp/ipdb"

# The feed files are copied, so that the undated ones can be dated without
# touching the folder (it may be read-only).
mkdir "$tmp/feeds"
find "$feeds" -maxdepth 1 \( -type f -o -type l \) ! -name '*.md' ! -name '*.refused' \
  -exec cp -pL {} "$tmp/feeds/" \;
if [[ -n "$date" ]]; then
  touch -d "${date}T12:00:00Z" "$tmp/feeds"/*
fi

go run scripts/build_embedded.go -ipdb "$tmp/ipdb" -feeds "$tmp/feeds" -o internal/snapshot/data/sovmap.snap
sha256sum internal/snapshot/data/sovmap.snap
