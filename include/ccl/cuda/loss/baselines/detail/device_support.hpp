#pragma once
// Host glue shared by the CUDA baselines (ccl/cuda/loss/baselines/*.hpp): the device half of the
// baselines' check_pair (device memory, 32-bit extents, the NaN scan) and a per-loss workspace
// (an execution context and the double reduction of row losses).

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/cublas.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution_context.hpp>
#include <ccl/cuda/row_losses.hpp>
#include <ccl/cuda/views.hpp>
#include <ccl/loss/baselines/detail/pair_checks.hpp>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>

namespace ccl::gpu::baselines {

/// One loss object's device resources, reused across calls: its execution context (stream,
/// TF32, cuBLAS handle, NaN-scan flag) and the double reduction of its row losses.
class BaselineWorkspace : public ExecutionContext {
 public:
  /// A device array of `count` doubles for per-row losses.
  double* row_losses(std::size_t count) { return row_losses_.data(count); }

  /// Σ of the first `count` row losses, in double; synchronises the stream.
  double sum_row_losses(int count) { return row_losses_.sum(count, stream()); }

 private:
  RowLosses row_losses_;
};

}  // namespace ccl::gpu::baselines

namespace ccl::loss::baselines::detail {

/// A CUDA baseline's per-object resources (stream, cuBLAS handle, NaN-scan scratch, row losses).
template <>
struct Workspace<cuda> : gpu::baselines::BaselineWorkspace {};

/// The device half of check_pair (pair_checks.hpp): device memory and the 32-bit limits, then
/// the NaN/Inf scan on the call's stream.
template <class Scalar>
void check_pair_memory_and_values(const char* op, const EmbeddingView<const Scalar, cuda>& student,
                                  const EmbeddingView<const Scalar, cuda>& teacher,
                                  const EmbeddingView<Scalar, cuda>& grad_student,
                                  const EmbeddingView<Scalar, cuda>& grad_teacher,
                                  bool check_finite, Workspace<cuda>& workspace) {
  gpu::require_int_shape(op, "student", student);
  gpu::require_int_shape(op, "teacher", teacher);
  gpu::require_device_memory(op, "student", student);
  gpu::require_device_memory(op, "teacher", teacher);
  gpu::require_device_memory(op, "grad_student", grad_student);
  gpu::require_device_memory(op, "grad_teacher", grad_teacher);
  if (check_finite) {
    gpu::checks::finite(op, "student", student, workspace.finite, workspace.stream());
    gpu::checks::finite(op, "teacher", teacher, workspace.finite, workspace.stream());
  }
}

}  // namespace ccl::loss::baselines::detail
