#pragma once
// nn::Linear<Scalar, ccl::cuda>: the one nn::Linear of nn/linear.hpp with its parameters in
// device memory and device views as inputs and gradients: same calling convention, parameter
// names, shapes and error messages. This header brings the device side of the ops the class is
// written over (cuda/backend_matrix.hpp): cuBLAS GEMMs on row-major views without copies or
// transposes, the bias as an accumulate kernel over the rows, its gradient as deterministic
// column sums, the device NaN scan. fp32 GEMMs use TF32 tensor cores only when
// the layer's Execution<cuda>::allow_tf32 is set.

#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/nn/linear.hpp>
