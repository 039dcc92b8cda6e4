#pragma once
// Crd<Scalar, ccl::cuda>: CRD on device views. The class is written once for both backends
// (ccl/loss/baselines/crd.hpp); this header brings what its device instantiation needs: the
// device contrast memory (banks as gpu::DeviceMatrix; Z and the sampler's ccl::Rng stay on the
// host) and the device side of the matrix ops. The negatives are drawn on the host by the CPU's
// own sampler from the same generator, so a CPU and a CUDA Crd built with the same seed draw
// identical negatives and start from identical banks; state() / load_state() move banks, Z and
// the generator to and from host data (checkpoints, or switching backends mid-run).

#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/crd.hpp>
