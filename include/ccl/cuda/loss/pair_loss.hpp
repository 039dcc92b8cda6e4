#pragma once
// The device instantiation of the loss result types (PairLossResult, DistillResult,
// LogitLossResult), which are written once over backend_matrix_t in <ccl/loss/pair_loss.hpp>:
// this header brings the CUDA matrix type and its ops (device matrices for the gradients; the
// value stays on the host because the losses return it synchronised).
// Compiled by nvcc, like the other headers that bring the device ops.

#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/pair_loss.hpp>
