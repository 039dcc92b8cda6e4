#!/usr/bin/env bash
# Builds the Python package (python/) with pip into build/python-venv and runs its pytest suite.
# The venv is made from Debian's python3 with --system-site-packages so that Debian's torch,
# numpy and pytest are the test peers; nanobind and scikit-build-core come from PyPI. When they
# cannot be installed the Python tests are reported as SKIPPED (exit status 0).
# CCL_PYTHON_CUDA=ON in the environment builds the extension with the CUDA backend (nvcc on PATH
# or CUDACXX set); its GPU tests run when PyTorch sees a CUDA device and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

python=/usr/bin/python3
venv=build/python-venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --system-site-packages "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if ! "${pip[@]}" install --quiet --retries 2 --timeout 30 \
     'nanobind>=2.10.1' 'scikit-build-core>=0.8'; then
  echo "test-python.sh: could not install nanobind/scikit-build-core; Python tests SKIPPED"
  exit 0
fi
# Release build of the extension (the package's default), without build isolation so that the
# build uses the tools just installed and needs no further download.
build_options=()
if [ "${CCL_PYTHON_CUDA:-OFF}" = ON ]; then
  build_options+=(--config-settings=cmake.define.CCL_PYTHON_CUDA=ON)
fi
"${pip[@]}" install --quiet --no-build-isolation --force-reinstall --no-deps \
  ${build_options[@]+"${build_options[@]}"} ./python
cd python/tests
../../"$venv"/bin/python -m pytest -q -p no:cacheprovider .
