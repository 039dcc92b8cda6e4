// The one translation unit that compiles the student's R(2+1)D (student.hpp says why).

#include "student.hpp"

#include <type_traits>

namespace table1 {

struct VideoEncoder::Network {
  ccl::nn::encoders::R2Plus1d<float> net;
};

static_assert(std::is_same_v<ccl::nn::encoders::R2Plus1d<float>::Input, VideoEncoder::Input> &&
                  std::is_same_v<ccl::nn::encoders::R2Plus1d<float>::Output, VideoEncoder::Output>,
              "VideoEncoder: the R(2+1)D's tensor types changed");

VideoEncoder::VideoEncoder(const ccl::nn::encoders::R2Plus1dOptions& o, ccl::Rng& rng)
    : network_(new Network{ccl::nn::encoders::r2plus1d<float>(o, rng)}) {}
VideoEncoder::VideoEncoder(VideoEncoder&&) noexcept = default;
VideoEncoder& VideoEncoder::operator=(VideoEncoder&&) noexcept = default;
VideoEncoder::~VideoEncoder() = default;

const VideoEncoder::Output& VideoEncoder::forward(const Input& x) { return network_->net.forward(x); }
void VideoEncoder::backward(const Output& grad_y) { network_->net.backward(grad_y); }
void VideoEncoder::set_training(bool on) { network_->net.set_training(on); }

void VideoEncoder::visit_parameters(const std::function<void(ccl::Parameter<float>&)>& visit) {
  network_->net.for_each_parameter(visit);
}
void VideoEncoder::visit_buffers(
    const std::function<void(const std::string&, ccl::RowMatrix<float>&)>& visit) {
  network_->net.for_each_buffer(visit);
}

}  // namespace table1
