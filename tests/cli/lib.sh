#!/usr/bin/env bash
# The CLI test scripts' library is tests/lib/test.sh (checks, the summary,
# classified skips, bounded polling, cleanup on exit); this name stays for the
# scripts that source it. Sourced after the script sets SUITE, from the
# repository root.
. tests/lib/test.sh
