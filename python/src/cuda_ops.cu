// The device side of cuda_ops.hpp: ccl's ccl::cuda losses on views of the caller's memory.
#include "cuda_ops.hpp"

#include <ccl/cuda.hpp>
#include <ccl/losses.hpp>

#include <cuda_runtime_api.h>

#include <memory>

namespace ccl_python::cuda_ops {
namespace {

/// Makes placement.device current for one call.
class ScopedPlacement {
 public:
  explicit ScopedPlacement(Placement placement) {
    CCL_CUDA_CHECK(cudaGetDevice(&saved_device_));
    CCL_CUDA_CHECK(cudaSetDevice(placement.device));
  }
  ScopedPlacement(const ScopedPlacement&) = delete;
  ScopedPlacement& operator=(const ScopedPlacement&) = delete;
  ~ScopedPlacement() { (void)cudaSetDevice(saved_device_); }

 private:
  int saved_device_ = 0;
};

/// The caller's stream (PyTorch's current stream) as the execution of ccl's objects.
ccl::Execution<ccl::cuda> execution_of(Placement placement) {
  ccl::Execution<ccl::cuda> execution;
  execution.stream = reinterpret_cast<cudaStream_t>(placement.stream);
  return execution;
}

template <class T>
ccl::EmbeddingView<T, ccl::cuda> view(DeviceMatrix<T> m) {
  return ccl::EmbeddingView<T, ccl::cuda>(m.data, m.rows, m.cols);
}

ccl::loss::ContrastiveOptions contrastive(const PairLossSpec& spec) {
  ccl::loss::ContrastiveOptions options;
  options.temperature = spec.parameter;
  options.numerics = spec.numerics;
  return options;
}

template <class Loss, class Scalar>
Scalar run(Loss loss, DeviceMatrix<const Scalar> f, DeviceMatrix<const Scalar> g,
           ccl::LabelView labels, DeviceMatrix<Scalar> grad_f, DeviceMatrix<Scalar> grad_g,
           Placement placement) {
  loss.set_execution(execution_of(placement));
  return loss.accumulate(view(f), view(g), labels, Scalar(1), view(grad_f), view(grad_g));
}

}  // namespace

template <class Scalar>
Scalar pair_loss(const PairLossSpec& spec, DeviceMatrix<const Scalar> f,
                 DeviceMatrix<const Scalar> g, ccl::LabelView labels, DeviceMatrix<Scalar> grad_f,
                 DeviceMatrix<Scalar> grad_g, Placement placement) {
  using namespace ccl::loss;
  using ccl::cuda;
  ScopedPlacement scope(placement);
  switch (spec.kind) {
    case PairLoss::multiclass_nce:
      return run(MultiClassNce<Scalar, cuda>(contrastive(spec)), f, g, labels, grad_f, grad_g,
                 placement);
    case PairLoss::instance_nce:
      return run(InstanceNce<Scalar, cuda>(contrastive(spec)), f, g, {}, grad_f, grad_g, placement);
    case PairLoss::symmetric_multiclass_nce:
      return run(symmetric(MultiClassNce<Scalar, cuda>(contrastive(spec))), f, g, labels, grad_f,
                 grad_g, placement);
    case PairLoss::symmetric_instance_nce:
      return run(symmetric(InstanceNce<Scalar, cuda>(contrastive(spec))), f, g, {}, grad_f, grad_g,
                 placement);
    case PairLoss::symmetric_kl: {
      SymmetricKlOptions options;
      options.weight = spec.parameter;
      options.numerics = spec.numerics;
      return run(SymmetricKl<Scalar, cuda>(options), f, g, {}, grad_f, grad_g, placement);
    }
    case PairLoss::hinton_kd:
      return run(HintonKd<Scalar, cuda>(spec.parameter), f, g, {}, grad_f, grad_g, placement);
  }
  throw ccl::error("ccl: unknown pair loss");
}

template <class Scalar>
Scalar cross_entropy(DeviceMatrix<const Scalar> logits, ccl::LabelView labels,
                     DeviceMatrix<Scalar> grad, Placement placement) {
  ScopedPlacement scope(placement);
  ccl::loss::CrossEntropy<Scalar, ccl::cuda> loss;
  loss.set_execution(execution_of(placement));
  return loss.accumulate(view(logits), labels, Scalar(1), view(grad));
}

template <class Scalar>
struct DeviceResidualHead<Scalar>::State {
  State(ccl::Index teacher_dim, ccl::Index student_dim, ccl::Index classes, bool normalize)
      : head(teacher_dim, student_dim, classes, options(normalize)) {}
  static ccl::compose::ResidualOptions options(bool normalize) {
    ccl::compose::ResidualOptions options;
    options.normalize = normalize;
    return options;
  }
  ccl::compose::Residual<Scalar, ccl::cuda> head;
};

template <class Scalar>
DeviceResidualHead<Scalar>::DeviceResidualHead(DeviceMatrix<const Scalar> w1,
                                               DeviceMatrix<const Scalar> b1,
                                               DeviceMatrix<const Scalar> w2,
                                               DeviceMatrix<const Scalar> b2, bool normalize,
                                               Placement placement)
    : placement_(placement) {
  ccl::require(w1.cols > w1.rows, "compose::Residual: residual.weight has shape [", w1.rows, ", ",
               w1.cols, "], expected [teacher_dim, teacher_dim + student_dim]");
  ScopedPlacement scope(placement_);
  state_ = std::make_unique<State>(w1.rows, w1.cols - w1.rows, w2.rows, normalize);
  state_->head.set_execution(execution_of(placement_));
  // set_weight/set_bias check the shapes against the head and the values for NaN/Inf.
  state_->head.residual().set_weight(view(w1));
  state_->head.residual().set_bias(view(b1));
  state_->head.classifier().set_weight(view(w2));
  state_->head.classifier().set_bias(view(b2));
}

template <class Scalar>
DeviceResidualHead<Scalar>::~DeviceResidualHead() = default;

template <class Scalar>
ccl::Index DeviceResidualHead<Scalar>::teacher_dim() const {
  return state_->head.teacher_dim();
}
template <class Scalar>
ccl::Index DeviceResidualHead<Scalar>::student_dim() const {
  return state_->head.student_dim();
}
template <class Scalar>
ccl::Index DeviceResidualHead<Scalar>::classes() const {
  return state_->head.classes();
}

template <class Scalar>
void DeviceResidualHead<Scalar>::forward(DeviceMatrix<const Scalar> teacher,
                                         DeviceMatrix<const Scalar> student,
                                         DeviceMatrix<Scalar> composed,
                                         DeviceMatrix<Scalar> logits) {
  ScopedPlacement scope(placement_);
  const auto out = state_->head.forward(view(teacher), view(student));
  // Copied out of the head's workspace so that the outputs outlive it.
  const cudaStream_t stream = execution_of(placement_).stream;
  ccl::gpu::copy<Scalar>(out.composed, view(composed), stream);
  ccl::gpu::copy<Scalar>(out.logits, view(logits), stream);
}

template <class Scalar>
void DeviceResidualHead<Scalar>::backward(
    DeviceMatrix<const Scalar> grad_composed, DeviceMatrix<const Scalar> grad_logits,
    DeviceMatrix<Scalar> grad_teacher, DeviceMatrix<Scalar> grad_student,
    DeviceMatrix<Scalar> grad_w1, DeviceMatrix<Scalar> grad_b1, DeviceMatrix<Scalar> grad_w2,
    DeviceMatrix<Scalar> grad_b2) {
  ScopedPlacement scope(placement_);
  auto& head = state_->head;
  auto optional = [](DeviceMatrix<Scalar> m) {
    return m.data ? view(m) : ccl::EmbeddingView<Scalar, ccl::cuda>{};
  };
  head.zero_grad();
  head.backward(view(grad_composed), view(grad_logits), optional(grad_student),
                optional(grad_teacher));
  const cudaStream_t stream = execution_of(placement_).stream;
  ccl::gpu::copy<Scalar>(head.residual().weight().grad.view(), view(grad_w1), stream);
  ccl::gpu::copy<Scalar>(head.residual().bias().grad.view(), view(grad_b1), stream);
  ccl::gpu::copy<Scalar>(head.classifier().weight().grad.view(), view(grad_w2), stream);
  ccl::gpu::copy<Scalar>(head.classifier().bias().grad.view(), view(grad_b2), stream);
}

template class DeviceResidualHead<float>;
template class DeviceResidualHead<double>;

void* allocate_zeroed(std::size_t bytes, Placement placement) {
  ScopedPlacement scope(placement);
  void* pointer = nullptr;
  if (bytes == 0) return nullptr;
  CCL_CUDA_CHECK(cudaMalloc(&pointer, bytes));
  const cudaError_t status =
      cudaMemsetAsync(pointer, 0, bytes, reinterpret_cast<cudaStream_t>(placement.stream));
  if (status != cudaSuccess) {
    (void)cudaFree(pointer);
    CCL_CUDA_CHECK(status);
  }
  return pointer;
}

// cudaFree waits for the work queued on the pointer's device, so no stream can still be using
// the memory when it is returned.
void release(void* pointer) noexcept { (void)cudaFree(pointer); }

template float pair_loss<float>(const PairLossSpec&, DeviceMatrix<const float>,
                                DeviceMatrix<const float>, ccl::LabelView, DeviceMatrix<float>,
                                DeviceMatrix<float>, Placement);
template double pair_loss<double>(const PairLossSpec&, DeviceMatrix<const double>,
                                  DeviceMatrix<const double>, ccl::LabelView, DeviceMatrix<double>,
                                  DeviceMatrix<double>, Placement);
template float cross_entropy<float>(DeviceMatrix<const float>, ccl::LabelView, DeviceMatrix<float>,
                                    Placement);
template double cross_entropy<double>(DeviceMatrix<const double>, ccl::LabelView,
                                      DeviceMatrix<double>, Placement);

}  // namespace ccl_python::cuda_ops
