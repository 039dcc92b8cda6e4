#pragma once
// Cmc<Scalar, ccl::cuda>: CMC on device views. The class is written once for both backends
// (ccl/loss/baselines/cmc.hpp); this header brings what its device instantiation needs: the
// device contrast memory (banks as gpu::DeviceMatrix; Z and the sampler's ccl::Rng stay on the
// host, so a CPU and a CUDA Cmc with the same seed draw the same negatives) and the device side
// of the matrix ops.

#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/loss/baselines/detail/contrast_memory.hpp>
#include <ccl/loss/baselines/cmc.hpp>
