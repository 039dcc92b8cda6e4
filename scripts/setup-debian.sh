#!/usr/bin/env bash
# Installs the Debian 12 packages that ccl's build, tests, examples and benchmarks need.
# Idempotent: packages already present are left alone, and nothing is fetched when all are.
# Run as root (or as a user with sudo).
set -euo pipefail

# The one list of Debian packages (add new needs here, one concern per line).
PACKAGES=(
  cmake ninja-build make g++ clang git pkg-config       # toolchain (CMake >= 3.25, clang 14)
  libclang-rt-14-dev                                    # clang's sanitizers and libFuzzer (tests/fuzz)
  libeigen3-dev libboost-dev                            # the library: Eigen 3.4, Boost.Hana
  catch2                                                # tests (Catch2 v2)
  libbenchmark-dev                                      # bench/
  libopenblas-dev                                       # the optional CBLAS path (CCL_BLAS)
  libcli11-dev nlohmann-json3-dev zlib1g-dev libpng-dev # examples: options, configs, IDX, PNG
  libespeak-ng-dev espeak-ng-data dataset-fashion-mnist  # data: speech, Fashion-MNIST images
  libhdf5-dev libturbojpeg0-dev                         # data: UCF51 videos (HDF5 of JPEG frames)
  python3 python3-venv python3-pip                      # Conan client (PyPI) for the Conan test
  python3-matplotlib                                    # examples/table1: the Recall@K plot
  libopenmpi-dev openmpi-bin                            # ccl::mpi and the tests/dist runs under mpirun
  python3-dev python3-numpy python3-torch python3-pytest # python/: the extension, its test peers
)

# Only for scripts/bench.sh (`setup-debian.sh --bench`): the PyTorch peer and an optimized BLAS
# behind it (libopenblas0-pthread takes over the libblas.so.3 alternative from the reference BLAS).
BENCH_PACKAGES=(python3-torch python3-numpy libopenblas0-pthread)
if [ "${1:-}" = "--bench" ]; then
  PACKAGES+=("${BENCH_PACKAGES[@]}")
fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-debian: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-debian: run as root (missing: ${missing[*]})" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup-debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
