#!/usr/bin/env bash
# The fuzzing smoke run of `make test` (about 30 s): every libFuzzer target a
# few seconds over its committed corpus (crash reproducers included), and the
# BPF packet fuzzer on a reduced packet count. `make fuzz` is the full run.
exec "$(dirname "$0")/../../fuzz/run.sh" smoke
