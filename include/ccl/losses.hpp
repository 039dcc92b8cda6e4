#pragma once
// The light entry point: the losses and what they are called with, for users who bring their
// own encoders and training loop (a LibTorch model, a NumPy pipeline) and only want the
// objectives with their gradients. It includes the embedding and label views, the contrastive
// losses, the baseline distillation losses, the composition heads and nn::Linear (which the heads
// are built from), and nothing of the convolutions, the encoders, the optimisers, the training
// pipeline, checkpoints or the data layer: a translation unit that calls one loss parses a
// fraction of <ccl/ccl.hpp> (docs/performance.md, "Compile time"). Everything here is also in
// <ccl/ccl.hpp>; mixing the two is fine.

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
#include <ccl/loss/cross_entropy.hpp>
#include <ccl/loss/distill.hpp>
#include <ccl/loss/kd.hpp>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>
#include <ccl/loss/pair_loss.hpp>
#include <ccl/loss/symmetric.hpp>
#include <ccl/loss/symmetric_kl.hpp>

#include <ccl/loss/baselines/cmc.hpp>
#include <ccl/loss/baselines/correlation_congruence.hpp>
#include <ccl/loss/baselines/crd.hpp>
#include <ccl/loss/baselines/embed_heads.hpp>
#include <ccl/loss/baselines/fitnet.hpp>
#include <ccl/loss/baselines/ifd.hpp>
#include <ccl/loss/baselines/kd.hpp>
#include <ccl/loss/baselines/pkt.hpp>
#include <ccl/loss/baselines/rkd.hpp>

#include <ccl/compose/composition.hpp>
#include <ccl/compose/concat_linear.hpp>
#include <ccl/compose/gated.hpp>
#include <ccl/compose/residual.hpp>
#include <ccl/compose/sum.hpp>

#include <ccl/nn/linear.hpp>
