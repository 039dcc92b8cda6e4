#pragma once
// The objects the checkpoint fuzzer binds (and whose saved checkpoint seeds it): a small model,
// an optimiser with momentum, a generator and a counter — what a training run restores.

#include <ccl/core/rng.hpp>
#include <ccl/io/io.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/optim.hpp>

#include <cstdint>

namespace ccl::fuzz {

struct CheckpointModel {
  ccl::Rng rng{3};
  ccl::nn::Linear<float> net{4, 3, rng};
  ccl::optim::Sgd<float> optimizer;
  std::int64_t step = 0;
  ccl::io::Checkpoint checkpoint;

  CheckpointModel() {
    optimizer.add_group(ccl::optim::SgdOptions{0.05, 0.9, 0.1, 5e-4, false}).add("net", net);
    checkpoint.add_module("net", net)
        .add_optimizer("optimizer", optimizer)
        .add_rng("rng", rng)
        .add_counter("step", step);
  }
  CheckpointModel(const CheckpointModel&) = delete;
  CheckpointModel& operator=(const CheckpointModel&) = delete;
};

}  // namespace ccl::fuzz
