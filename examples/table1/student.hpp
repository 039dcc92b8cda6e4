#pragma once
// The video student's encoder, the narrow R(2+1)D, behind a compiled boundary.
//
// Every method's translation unit (run_*.cpp) trains the same student, and the R(2+1)D's forward
// and backward (a nested nn::Sequential of spatio-temporal convolutions, batch norms and residual
// blocks) were about half of each unit's compile time, compiled nine times over. VideoEncoder
// models the encoder interface of ccl/pipeline/encoder_traits.hpp and keeps the network in
// student.cpp, so it is compiled once; a forward or backward call costs one indirect call per
// batch, and the arithmetic is the very same code (docs/performance.md, "Compile time").
//
// Over several ranks (parallel.hpp) every BatchNorm3d of the network is a dist::SyncBatchNorm3d,
// which normalises by the global batch's statistics, so that R ranks train as one process with
// the global batch; the weights are the same (the norm factory draws nothing from the Rng).

#include "datasets.hpp"
#include "parallel.hpp"

#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/types.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>
#include <ccl/nn/tensor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace table1 {

inline ccl::nn::encoders::R2Plus1dOptions student_options() {
  // The narrow R(2+1)D with a spatially strided stem: 1x8x32x32 clips -> 64-d.
  auto o = ccl::nn::encoders::R2Plus1dOptions::narrow(1);
  o.stem_stride = {1, 2, 2};
  return o;
}

class VideoEncoder {
 public:
  using scalar_type = float;
  using Input = ccl::nn::Tensor<float, 5>;   ///< [N, C, T, H, W] clips
  using Output = ccl::nn::Tensor<float, 2>;  ///< [N, D] embeddings

  /// ccl::nn::encoders::r2plus1d<float>(o, rng): the same parameters from the same draws. Its
  /// BatchNorms are synchronised over `comm` when it has more than one rank; with one rank they
  /// are the plain BatchNorm3d (SyncBatchNorm3d accumulates its statistics in double, which is
  /// not bit-identical to the plain layer's float sums).
  VideoEncoder(const ccl::nn::encoders::R2Plus1dOptions& o, ccl::Rng& rng, Communicator& comm);
  VideoEncoder(VideoEncoder&&) noexcept;
  VideoEncoder& operator=(VideoEncoder&&) noexcept;
  ~VideoEncoder();

  const Output& forward(const Input& x);
  void backward(const Output& grad_y);
  void set_training(bool on);

  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    visit_parameters([&](ccl::Parameter<float>& p) { visit(p); });
  }
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    visit_buffers([&](const std::string& name, ccl::RowMatrix<float>& value) { visit(name, value); });
  }

 private:
  void visit_parameters(const std::function<void(ccl::Parameter<float>&)>& visit);
  void visit_buffers(const std::function<void(const std::string&, ccl::RowMatrix<float>&)>& visit);

  struct Network;
  std::unique_ptr<Network> network_;
};

}  // namespace table1
