#!/usr/bin/env bash
# Install the peers bench/run.sh measures against (Debian packages).
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pflogsumm ripgrep hyperfine libsisimai-perl time
