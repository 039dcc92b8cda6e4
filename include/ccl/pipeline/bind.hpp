#pragma once
// ccl::pipeline::Bind<Scalar, Backend>: a pipeline's scalar type and backend, stated once. Every
// part is built through it and gets both:
//
//   using P = ccl::pipeline::Bind<float, ccl::cuda>;
//   auto encoder = ccl::nn::encoders::r2plus1d<P::scalar_type, P::backend_type>(options, rng);
//   auto pipeline = make_pipeline(
//       P::student(std::move(encoder), 512, 51, rng),
//       branch<ccl::Audio>(P::make<teacher::Precomputed>(512),
//                          P::make<compose::Residual>(512, 512, 51, rng),
//                          P::make<CclObjective>(audio_options)));
//
// P::make<Part>(args...) is Part<Scalar, Backend>(args...) for every part template whose
// parameters are (Scalar, Backend): teachers, compositions, the CCL objective, the baseline
// objectives, losses and layers with those two parameters. P::student and P::frozen take the
// encoder (its type deduced). Switching the pipeline to the GPU, or to double, is a change of
// one line. make_pipeline still checks every part against the student (readable
// static_asserts), so a part built elsewhere with another backend or scalar stays a compile
// error. Inside a template whose Backend is itself a parameter, P is a dependent type: write
// `P::template make<Part>(...)` there (tests/cuda/test_cuda_pipeline.cu does).

#include <ccl/core/backend.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/pipeline/student.hpp>
#include <ccl/pipeline/teacher.hpp>

#include <utility>

namespace ccl::pipeline {

template <class Scalar, class Backend = cpu>
struct Bind {
  CCL_STATIC_ASSERT_SCALAR(Scalar);
  static_assert(is_backend_v<Backend>,
                "ccl::pipeline::Bind<Scalar, Backend>: Backend must be ccl::cpu or ccl::cuda");

  using scalar_type = Scalar;
  using backend_type = Backend;

  /// Part<Scalar, Backend>(args...).
  template <template <class, class> class Part, class... Args>
  static Part<Scalar, Backend> make(Args&&... args) {
    return Part<Scalar, Backend>(std::forward<Args>(args)...);
  }

  /// The student around `encoder` (whose backend must be this one: Student checks it).
  template <class Encoder>
  static Student<Encoder, Scalar, Backend> student(Encoder encoder, Index embedding_dim,
                                                   Index classes, Rng& rng) {
    return Student<Encoder, Scalar, Backend>(std::move(encoder), embedding_dim, classes, rng);
  }

  /// A frozen teacher network producing `dim`-wide embeddings.
  template <class Network>
  static teacher::Frozen<Network, Scalar, Backend> frozen(Network network, Index dim) {
    return teacher::Frozen<Network, Scalar, Backend>(std::move(network), dim);
  }
};

}  // namespace ccl::pipeline
