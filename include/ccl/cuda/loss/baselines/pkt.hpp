#pragma once
// Pkt<Scalar, ccl::cuda>: PKT on device views. The class is written once
// (ccl/loss/baselines/pkt.hpp); its device arithmetic is ProbabilityTerm<Scalar, ccl::cuda>
// (detail/probabilities.hpp): each side's Gram matrix one cuBLAS GEMM, B x B workspaces kept on
// the device (PKT is a per-batch loss), same value and gradients as the CPU.

#include <ccl/cuda/loss/baselines/detail/probabilities.hpp>
#include <ccl/loss/baselines/pkt.hpp>
