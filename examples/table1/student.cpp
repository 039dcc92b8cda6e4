// The one translation unit that compiles the student's R(2+1)D (student.hpp says why): the
// network with plain BatchNorms (one process) and with synchronised ones (several ranks).

#include "student.hpp"

#include <ccl/dist/sync_batch_norm_layer.hpp>

#include <type_traits>
#include <utility>
#include <variant>

namespace table1 {

namespace {

using Plain = ccl::nn::encoders::R2Plus1d<float>;

/// r2plus1d's norm factory for the data-parallel student.
struct MakeSyncBatchNorm {
  Communicator* comm;
  ccl::dist::SyncBatchNorm3d<float, Communicator> operator()(Index channels) const {
    return ccl::dist::SyncBatchNorm3d<float, Communicator>(*comm, channels);
  }
};

using Synchronised = decltype(ccl::nn::encoders::r2plus1d<float>(
    std::declval<const ccl::nn::encoders::R2Plus1dOptions&>(), std::declval<ccl::Rng&>(),
    std::declval<const MakeSyncBatchNorm&>()));

}  // namespace

struct VideoEncoder::Network {
  std::variant<Plain, Synchronised> net;
};

static_assert(std::is_same_v<Plain::Input, VideoEncoder::Input> &&
                  std::is_same_v<Plain::Output, VideoEncoder::Output> &&
                  std::is_same_v<Synchronised::Input, VideoEncoder::Input> &&
                  std::is_same_v<Synchronised::Output, VideoEncoder::Output>,
              "VideoEncoder: the R(2+1)D's tensor types changed");

namespace {

std::variant<Plain, Synchronised> make_network(const ccl::nn::encoders::R2Plus1dOptions& o,
                                               ccl::Rng& rng, Communicator& comm) {
  if (comm.size() > 1)
    return ccl::nn::encoders::r2plus1d<float>(o, rng, MakeSyncBatchNorm{&comm});
  return ccl::nn::encoders::r2plus1d<float>(o, rng);
}

}  // namespace

VideoEncoder::VideoEncoder(const ccl::nn::encoders::R2Plus1dOptions& o, ccl::Rng& rng,
                           Communicator& comm)
    : network_(new Network{make_network(o, rng, comm)}) {}
VideoEncoder::VideoEncoder(VideoEncoder&&) noexcept = default;
VideoEncoder& VideoEncoder::operator=(VideoEncoder&&) noexcept = default;
VideoEncoder::~VideoEncoder() = default;

const VideoEncoder::Output& VideoEncoder::forward(const Input& x) {
  return std::visit([&](auto& net) -> const Output& { return net.forward(x); }, network_->net);
}
void VideoEncoder::backward(const Output& grad_y) {
  std::visit([&](auto& net) { net.backward(grad_y); }, network_->net);
}
void VideoEncoder::set_training(bool on) {
  std::visit([&](auto& net) { net.set_training(on); }, network_->net);
}

void VideoEncoder::visit_parameters(const std::function<void(ccl::Parameter<float>&)>& visit) {
  std::visit([&](auto& net) { net.for_each_parameter(visit); }, network_->net);
}
void VideoEncoder::visit_buffers(
    const std::function<void(const std::string&, ccl::RowMatrix<float>&)>& visit) {
  std::visit([&](auto& net) { net.for_each_buffer(visit); }, network_->net);
}

}  // namespace table1
