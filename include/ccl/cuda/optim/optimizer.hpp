#pragma once
// Device optimisers: optim::Optimizer<Scalar, Update, ccl::cuda> is the one Optimizer of
// optim/optimizer.hpp (groups, keys, validation, step loop, copy_state_to / copy_state_from),
// instantiated over Parameter<Scalar, ccl::cuda>. This header brings what that instantiation
// needs: device parameters, BackendMatrix<Scalar, ccl::cuda> for the state buffers (so the
// momentum buffer and Adam moments live in device memory) and the upload/download overloads the
// checkpoint copies use. The per-policy update kernels are in <ccl/cuda/optim/sgd.hpp> and
// adam.hpp.
//
//   optim::Sgd<float, ccl::cuda> sgd;
//   sgd.add_group(optim::SgdOptions::official()).add("head_audio", head_a);   // device modules
//   ...  sgd.zero_grad();  forward/backward on the device;  sgd.step();
//
// step() only queues kernels on the optimiser's stream (set_execution); it does not synchronise.

#include <ccl/core/backend.hpp>
#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/optim/optimizer.hpp>
