#pragma once
// The layers of ccl::nn: Tensor activations in PyTorch's layouts, ConvNd<1|2|3>, the (2+1)D
// SpatioTemporalConv of R(2+1)D, BatchNorm, ReLU, pooling, Dropout, Flatten, Linear, and the
// containers Sequential and Residual. docs/nn.md describes each against its PyTorch counterpart.

#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/dropout.hpp>
#include <ccl/nn/flatten.hpp>
#include <ccl/nn/init.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/residual.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/nn/spatio_temporal_conv.hpp>
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>
#include <ccl/nn/tensor_linear.hpp>
