#pragma once
// Ifd<Scalar, ccl::cuda>: one layer pair of the information-flow loss on device views. The class
// is written once (ccl/loss/baselines/ifd.hpp); its device arithmetic is
// ProbabilityTerm<Scalar, ccl::cuda> (detail/probabilities.hpp): Gram matrices by cuBLAS, B x B
// device workspaces (a per-batch loss), same value and gradients as the CPU.
// ifd_layer_weight() is host arithmetic shared with the CPU.

#include <ccl/cuda/loss/baselines/detail/probabilities.hpp>
#include <ccl/loss/baselines/ifd.hpp>
