#pragma once
// The umbrella header: everything a CPU user needs. CUDA users add <ccl/cuda.hpp> in
// translation units compiled by nvcc.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/parameter.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/core/row_mask.hpp>
#include <ccl/core/types.hpp>
#include <ccl/core/version.hpp>

#include <ccl/loss/contrastive_options.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>
#include <ccl/loss/pair_loss.hpp>
#include <ccl/loss/symmetric.hpp>

#include <ccl/nn/nn.hpp>

#include <ccl/compose/composition.hpp>
#include <ccl/compose/concat_linear.hpp>
#include <ccl/compose/gated.hpp>
#include <ccl/compose/residual.hpp>
#include <ccl/compose/sum.hpp>

#include <ccl/optim/optim.hpp>

#include <ccl/io/io.hpp>
