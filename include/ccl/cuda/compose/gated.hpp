#pragma once
// compose::Gated<Scalar, ccl::cuda>: the one Gated of compose/gated.hpp on the device. What is
// device-specific is only the gate's elementwise part, detail::GateMix<Scalar, ccl::cuda>: one
// kernel forward and one backward (kernels/gated.cuh, whose per-element formulas a host test
// checks against the CPU's).

#include <ccl/compose/gated.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/types.hpp>
#include <ccl/cuda/compose/detail/common.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/kernels/gated.cuh>
#include <ccl/cuda/launch.hpp>

#include <cstddef>

namespace ccl::compose {
namespace detail {

template <class Scalar>
struct GateMix<Scalar, cuda> {
  static void forward(const gpu::DeviceMatrix<Scalar>& a, const gpu::DeviceMatrix<Scalar>& teacher,
                      const gpu::DeviceMatrix<Scalar>& student, gpu::DeviceMatrix<Scalar>& gate,
                      gpu::DeviceMatrix<Scalar>& composed, const Execution<cuda>& execution) {
    const Index rows = a.rows(), cols = a.cols();
    gate.resize(rows, cols);
    composed.resize(rows, cols);
    const long long count = static_cast<long long>(rows) * cols;
    gpu::launch_elementwise("gated_forward_kernel", count, execution.stream,
                            gpu::kernels::gated_forward_kernel<Scalar>, a.data(), teacher.data(),
                            static_cast<std::ptrdiff_t>(teacher.cols()), student.data(),
                            static_cast<std::ptrdiff_t>(student.cols()), int(rows), int(cols),
                            gate.data(), composed.data());
  }

  static void backward(const gpu::DeviceMatrix<Scalar>& grad_tv,
                       const gpu::DeviceMatrix<Scalar>& gate,
                       const gpu::DeviceMatrix<Scalar>& teacher,
                       const gpu::DeviceMatrix<Scalar>& student,
                       gpu::DeviceMatrix<Scalar>& grad_gate,
                       EmbeddingView<Scalar, cuda> grad_teacher,
                       EmbeddingView<Scalar, cuda> grad_student, const Execution<cuda>& execution) {
    const Index rows = gate.rows(), cols = gate.cols();
    grad_gate.resize(rows, cols);
    const long long count = static_cast<long long>(rows) * cols;
    gpu::launch_elementwise("gated_backward_kernel", count, execution.stream,
                            gpu::kernels::gated_backward_kernel<Scalar>, grad_tv.data(),
                            gate.data(), teacher.data(), student.data(), int(rows), int(cols),
                            grad_gate.data(), given(grad_teacher) ? grad_teacher.data() : nullptr,
                            static_cast<std::ptrdiff_t>(grad_teacher.row_stride()),
                            given(grad_student) ? grad_student.data() : nullptr,
                            static_cast<std::ptrdiff_t>(grad_student.row_stride()));
  }
};

}  // namespace detail

static_assert(assert_composition<Gated<float, cuda>>());

}  // namespace ccl::compose
