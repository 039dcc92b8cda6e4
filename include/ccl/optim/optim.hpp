#pragma once
// The optimisers and learning-rate schedules: SGD (PyTorch's rule, momentum, dampening, weight
// decay, Nesterov), Adam / AdamW, parameter groups with their own hyper-parameters, and the
// Constant, MultiStep and Cosine schedules bound to one group each.

#include <ccl/optim/adam.hpp>
#include <ccl/optim/optimizer.hpp>
#include <ccl/optim/scheduler.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>
