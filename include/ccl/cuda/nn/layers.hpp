#pragma once
// Every device layer of ccl::nn, for networks built with the ccl::cuda backend argument:
//
//   auto net = ccl::nn::encoders::r2plus1d<float, ccl::cuda>(options, rng);   // same weights as
//   auto clip = ccl::gpu::to_device(clip_host);                               // the CPU network
//   const auto& embedding = net.forward(clip);                                // from this seed
//
// The containers (Sequential, Residual) and SpatioTemporalConv are the CPU headers' templates:
// they carry the backend of their layers through. Needs cuDNN (CCL_CUDA_HAS_CUDNN).

#include <ccl/cuda/cudnn.hpp>
#include <ccl/cuda/nn/batch_norm.hpp>
#include <ccl/cuda/nn/conv.hpp>
#include <ccl/cuda/nn/dropout.hpp>
#include <ccl/cuda/nn/flatten.hpp>
#include <ccl/cuda/nn/pooling.hpp>
#include <ccl/cuda/nn/relu.hpp>
#include <ccl/cuda/nn/residual.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>
#include <ccl/nn/residual.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/nn/spatio_temporal_conv.hpp>
