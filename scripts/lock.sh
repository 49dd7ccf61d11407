#!/usr/bin/env bash
# Regenerate the hashed lock files in requirements/ from pyproject.toml (needs PyPI and uv:
# `pip install uv`, or set UV to its path). Pins already in the files are kept unless asked:
#   scripts/lock.sh                        after adding or changing a dependency
#   scripts/lock.sh --upgrade              every package to its newest allowed version
#   scripts/lock.sh --upgrade-package X    one package
# The three files agree on every version: test.txt is resolved first and constrains the others.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
# One resolution for every platform and Python from 3.11 on, each file with every artifact's hash.
compile=("$UV" pip compile --quiet --universal --python-version 3.11 --generate-hashes
         --custom-compile-command scripts/lock.sh --annotation-style line "$@")
sources=(pyproject.toml requirements/build.in)
"${compile[@]}" "${sources[@]}" --extra embedded --extra test -o requirements/test.txt
"${compile[@]}" "${sources[@]}" --extra embedded -c requirements/test.txt -o requirements/dev.txt
"${compile[@]}" "${sources[@]}" -c requirements/test.txt -o requirements/runtime.txt
