// The device side of cuda_ops.hpp: ccl's ccl::cuda losses on views of the caller's memory.
#include "cuda_ops.hpp"

#include <ccl/cuda.hpp>
#include <ccl/losses.hpp>

#include <cuda_runtime_api.h>

namespace ccl_python::cuda_ops {
namespace {

/// Makes placement.device current and ccl's per-thread stream the caller's, for one call.
class ScopedPlacement {
 public:
  explicit ScopedPlacement(Placement placement) : settings_(settings_for(placement)) {
    CCL_CUDA_CHECK(cudaGetDevice(&saved_device_));
    CCL_CUDA_CHECK(cudaSetDevice(placement.device));
  }
  ScopedPlacement(const ScopedPlacement&) = delete;
  ScopedPlacement& operator=(const ScopedPlacement&) = delete;
  ~ScopedPlacement() { (void)cudaSetDevice(saved_device_); }

 private:
  static ccl::gpu::Settings settings_for(Placement placement) {
    ccl::gpu::Settings settings = ccl::gpu::settings();
    settings.stream = reinterpret_cast<cudaStream_t>(placement.stream);
    return settings;
  }
  ccl::gpu::ScopedSettings settings_;
  int saved_device_ = 0;
};

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
           ccl::LabelView labels, DeviceMatrix<Scalar> grad_f, DeviceMatrix<Scalar> grad_g) {
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
      return run(MultiClassNce<Scalar, cuda>(contrastive(spec)), f, g, labels, grad_f, grad_g);
    case PairLoss::instance_nce:
      return run(InstanceNce<Scalar, cuda>(contrastive(spec)), f, g, {}, grad_f, grad_g);
    case PairLoss::symmetric_multiclass_nce:
      return run(symmetric(MultiClassNce<Scalar, cuda>(contrastive(spec))), f, g, labels, grad_f,
                 grad_g);
    case PairLoss::symmetric_instance_nce:
      return run(symmetric(InstanceNce<Scalar, cuda>(contrastive(spec))), f, g, {}, grad_f,
                 grad_g);
    case PairLoss::symmetric_kl: {
      SymmetricKlOptions options;
      options.weight = spec.parameter;
      options.numerics = spec.numerics;
      return run(SymmetricKl<Scalar, cuda>(options), f, g, {}, grad_f, grad_g);
    }
    case PairLoss::hinton_kd:
      return run(HintonKd<Scalar, cuda>(spec.parameter), f, g, {}, grad_f, grad_g);
  }
  throw ccl::error("ccl: unknown pair loss");
}

template <class Scalar>
Scalar cross_entropy(DeviceMatrix<const Scalar> logits, ccl::LabelView labels,
                     DeviceMatrix<Scalar> grad, Placement placement) {
  ScopedPlacement scope(placement);
  ccl::loss::CrossEntropy<Scalar, ccl::cuda> loss;
  return loss.accumulate(view(logits), labels, Scalar(1), view(grad));
}

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
                                  DeviceMatrix<const double>, ccl::LabelView,
                                  DeviceMatrix<double>, DeviceMatrix<double>, Placement);
template float cross_entropy<float>(DeviceMatrix<const float>, ccl::LabelView,
                                    DeviceMatrix<float>, Placement);
template double cross_entropy<double>(DeviceMatrix<const double>, ccl::LabelView,
                                      DeviceMatrix<double>, Placement);

}  // namespace ccl_python::cuda_ops
