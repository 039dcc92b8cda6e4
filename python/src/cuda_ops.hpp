#pragma once
// The losses on CUDA device memory behind a plain C++ interface. cuda_ops.cu is compiled by nvcc
// and includes no nanobind; cuda_bindings.cpp (the host compiler) turns DLPack arrays into these
// calls. Only built with -DCCL_PYTHON_CUDA=ON.
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>

#include <cstddef>
#include <cstdint>

namespace ccl_python::cuda_ops {

/// A C-contiguous [rows, cols] matrix in device memory.
template <class T>
struct DeviceMatrix {
  T* data;
  ccl::Index rows, cols;
};

/// Where a call runs: the device of its arrays and the caller's stream (PyTorch's current stream
/// as an integer handle, 0 for the default stream), so ccl's work is ordered with the caller's.
struct Placement {
  int device;
  std::uintptr_t stream;
};

enum class PairLoss {
  multiclass_nce,
  instance_nce,
  symmetric_multiclass_nce,
  symmetric_instance_nce,
  symmetric_kl,
  hinton_kd
};

struct PairLossSpec {
  PairLoss kind;
  /// The temperature τ (contrastive losses, Hinton KD) or the weight (symmetric KL).
  double parameter;
  ccl::loss::Numerics numerics;
};

/// Returns the loss and ADDS dL/df, dL/dg into grad_f, grad_g; synchronises the stream (the value
/// is copied back), so the gradients are complete when it returns.
template <class Scalar>
Scalar pair_loss(const PairLossSpec& spec, DeviceMatrix<const Scalar> f,
                 DeviceMatrix<const Scalar> g, ccl::LabelView labels, DeviceMatrix<Scalar> grad_f,
                 DeviceMatrix<Scalar> grad_g, Placement placement);

/// Softmax cross-entropy (mean over rows): returns L and ADDS dL/dlogits into grad.
template <class Scalar>
Scalar cross_entropy(DeviceMatrix<const Scalar> logits, ccl::LabelView labels,
                     DeviceMatrix<Scalar> grad, Placement placement);

/// `bytes` of zeroed device memory on placement.device (cudaMalloc; freed by release).
void* allocate_zeroed(std::size_t bytes, Placement placement);
void release(void* pointer) noexcept;

}  // namespace ccl_python::cuda_ops
