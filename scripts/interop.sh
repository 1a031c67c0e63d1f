#!/usr/bin/env bash
# Placeholder until the interop suite lands (issue: interop against a real AS).
set -euo pipefail
echo "interop: suite not yet present"
