#pragma once
// The CUDA backend of ccl: include this header in a translation unit compiled by nvcc (a .cu
// file linked to ccl::cuda) and call ops with the ccl::cuda tag on device views, e.g.
//
//   auto f = ccl::gpu::to_device(f_host), g = ccl::gpu::to_device(g_host);
//   ccl::gpu::DeviceMatrix<float> grad_f(B, D), grad_g(B, D);   // zero() them first
//   ccl::loss::MultiClassNce<float, ccl::cuda> nce(0.5);
//   float value = nce.accumulate(f.view(), g.view(), labels, 1.0f, grad_f.mutable_view(),
//                                grad_g.mutable_view());
//
// The helpers live in namespace ccl::gpu (ccl::cuda is the backend tag, so it cannot also be a
// namespace). CPU-only code never includes this header and never needs nvcc.

#if !defined(__CUDACC__)
// The kernels below need nvcc: compile this translation unit as a .cu file linked to ccl::cuda.
#error "<ccl/cuda.hpp> contains CUDA kernels; compile this file with nvcc (see docs/cuda.md)"
#endif

#include <ccl/cuda/backend_matrix.hpp>
#include <ccl/cuda/buffer.hpp>
#include <ccl/cuda/checks.hpp>
#include <ccl/cuda/copy.hpp>
#include <ccl/cuda/cublas.hpp>
#include <ccl/cuda/device.hpp>
#include <ccl/cuda/device_matrix.hpp>
#include <ccl/cuda/error.hpp>
#include <ccl/cuda/execution.hpp>
#include <ccl/cuda/nn/tensor.hpp>
#include <ccl/cuda/parameter.hpp>
#include <ccl/cuda/stream.hpp>
#include <ccl/cuda/views.hpp>
#if defined(CCL_CUDA_HAS_CUDNN)
#include <ccl/cuda/cudnn.hpp>
#endif

// The device layers of ccl::nn; the convolutions and batch norm (and the networks built from
// them) need cuDNN.
#include <ccl/cuda/nn/dropout.hpp>
#include <ccl/cuda/nn/flatten.hpp>
#include <ccl/cuda/nn/pooling.hpp>
#include <ccl/cuda/nn/relu.hpp>
#include <ccl/cuda/nn/residual.hpp>
#if defined(CCL_CUDA_HAS_CUDNN)
#include <ccl/cuda/nn/layers.hpp>
#endif

#include <ccl/cuda/loss/cross_entropy.hpp>
#include <ccl/cuda/loss/pair_loss.hpp>
#include <ccl/cuda/loss/row_softmax_contrastive.hpp>
#include <ccl/cuda/loss/symmetric_kl.hpp>

// The Table 1 baselines (KD, FitNet, PKT, COR, RKD, IFD, CRD, CMC) with the ccl::cuda tag.
#include <ccl/cuda/loss/baselines/all.hpp>

// nn::Linear, row-wise ops and the compositions on the device; the device optimisers.
#include <ccl/cuda/compose/concat_linear.hpp>
#include <ccl/cuda/compose/gated.hpp>
#include <ccl/cuda/compose/residual.hpp>
#include <ccl/cuda/compose/sum.hpp>
#include <ccl/cuda/nn/linear.hpp>
#include <ccl/cuda/nn/module_copy.hpp>
#include <ccl/cuda/nn/rowwise.hpp>
#include <ccl/cuda/nn/rowwise_mask.hpp>
#include <ccl/cuda/nn/tensor_linear.hpp>
#include <ccl/cuda/optim/adam.hpp>
#include <ccl/cuda/optim/checkpoint.hpp>
#include <ccl/cuda/optim/optimizer.hpp>
#include <ccl/cuda/optim/sgd.hpp>
