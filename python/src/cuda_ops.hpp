#pragma once
// The losses on CUDA device memory behind a plain C++ interface. cuda_ops.cu is compiled by nvcc
// and includes no nanobind; cuda_bindings.cpp (the host compiler) turns DLPack arrays into these
// calls. Only built with -DCCL_PYTHON_CUDA=ON.
#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/loss/contrastive_options.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

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

/// compose::Residual<Scalar, ccl::cuda> built from the caller's device weights (W_1 [Dt, Dt+Dv],
/// b_1 [Dt], W_2 [C, Dt], b_2 [C], copied into the head on the device), for one forward and the
/// backward of it. Outputs and gradients are written into the caller's zeroed device buffers.
template <class Scalar>
class DeviceResidualHead {
 public:
  DeviceResidualHead(DeviceMatrix<const Scalar> w1, DeviceMatrix<const Scalar> b1,
                     DeviceMatrix<const Scalar> w2, DeviceMatrix<const Scalar> b2, bool normalize,
                     Placement placement);
  ~DeviceResidualHead();
  DeviceResidualHead(const DeviceResidualHead&) = delete;
  DeviceResidualHead& operator=(const DeviceResidualHead&) = delete;

  ccl::Index teacher_dim() const;
  ccl::Index student_dim() const;
  ccl::Index classes() const;

  void forward(DeviceMatrix<const Scalar> teacher, DeviceMatrix<const Scalar> student,
               DeviceMatrix<Scalar> composed, DeviceMatrix<Scalar> logits);
  /// grad_teacher / grad_student with a null data pointer are skipped. The parameter gradients
  /// (b_1, b_2 as [1, n]) are overwritten, so a second backward gives the same result.
  void backward(DeviceMatrix<const Scalar> grad_composed, DeviceMatrix<const Scalar> grad_logits,
                DeviceMatrix<Scalar> grad_teacher, DeviceMatrix<Scalar> grad_student,
                DeviceMatrix<Scalar> grad_w1, DeviceMatrix<Scalar> grad_b1,
                DeviceMatrix<Scalar> grad_w2, DeviceMatrix<Scalar> grad_b2);

 private:
  struct State;
  std::unique_ptr<State> state_;
  Placement placement_;
};

/// `bytes` of zeroed device memory on placement.device (cudaMalloc; freed by release).
void* allocate_zeroed(std::size_t bytes, Placement placement);
void release(void* pointer) noexcept;

}  // namespace ccl_python::cuda_ops
