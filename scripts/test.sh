#!/usr/bin/env bash
# The test command: set up a Debian 12 machine, then configure, build and run the whole test
# suite through the `ci` workflow preset (Release, warnings as errors, tests and examples).
#
# It also prepares a Conan 2 client (from PyPI, in a virtual environment under build/) so that
# the consumer.conan test runs `conan create` and the test_package offline; when PyPI cannot be
# reached that test is reported as skipped. Set CCL_CONAN=0 to skip it deliberately, and
# CCL_TEST_CLANG=1 to run the same suite built with clang++ as well (the `clang` workflow).
# The Python package's tests follow the `ci` workflow (CCL_TEST_PYTHON=0 skips them), then the
# `asan` workflow (sanitizers, fuzz smoke runs); CCL_TEST_ASAN=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh

venv=build/tools/conan
if [ "${CCL_CONAN:-1}" != 0 ]; then
  if [ ! -x "$venv/bin/conan" ]; then
    echo "test.sh: installing a Conan 2 client into $venv"
    if ! { python3 -m venv "$venv" &&
           "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
             --retries 2 --timeout 30 'conan>=2,<3'; }; then
      echo "test.sh: could not install conan; consumer.conan will be SKIPPED"
      rm -rf "$venv"
    fi
  fi
  if [ -x "$venv/bin/conan" ]; then
    export PATH="$PWD/$venv/bin:$PATH"
    echo "test.sh: using $(conan --version)"
  fi
fi

cmake --workflow --preset ci

# The Python package (python/, docs/python.md): built with pip into a virtual environment that
# sees Debian's torch and numpy, then its pytest suite. CCL_TEST_PYTHON=0 skips it; without PyPI
# (nanobind, scikit-build-core) it is reported as SKIPPED.
if [ "${CCL_TEST_PYTHON:-1}" != 0 ]; then
  bash scripts/test-python.sh
fi
# Sanitizers and fuzzing: clang with ASan + UBSan over the tests of the readers, the losses and
# the checkpoints, and a smoke run of every fuzz harness (docs/data.md, "Trust model").
# CCL_TEST_ASAN=0 skips it.
if [ "${CCL_TEST_ASAN:-1}" != 0 ]; then
  cmake --workflow --preset asan
fi
if [ "${CCL_TEST_CLANG:-0}" = 1 ]; then
  cmake --workflow --preset clang
fi
