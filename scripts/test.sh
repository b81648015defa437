#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install what is needed, type-check, run the unit tests
# (no root needed), then the integration tests (root; each brings up its own small cluster, one at
# a time, and removes it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc --noEmit
npx ava 'test/unit/**/*.test.ts'
npx ava --concurrency 1 --serial 'test/integration/**/*.test.ts'
