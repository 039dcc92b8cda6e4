#pragma once
// The umbrella header: every public module a CPU user needs. CUDA users add <ccl/cuda.hpp> in
// translation units compiled by nvcc; the data layer (<ccl/data/...>: IDX, .npy, the official
// teacher-feature layout, the tri-modal benchmark) is included on its own because parts of it
// need the optional zlib / espeak-ng target ccl::data_extras. Users who only want the losses
// include the lighter <ccl/losses.hpp> (no convolutions, encoders, optimisers, pipeline or I/O).
//
// Public modules only: the checkpoint file's internals (byte streams, framing, CRC-32, section
// bodies, the atomic writer) and the trainer's JSON-lines formatting are implementation details
// that their public headers include themselves; a user who wants one of them (a tool that
// inspects checkpoint files) includes it by name, e.g. <ccl/io/io.hpp>.

#include <ccl/core/backend.hpp>
#include <ccl/core/checks.hpp>
#include <ccl/core/embedding_view.hpp>
#include <ccl/core/error.hpp>
#include <ccl/core/label_view.hpp>
#include <ccl/core/parallel.hpp>
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

#include <ccl/nn/batch_norm.hpp>
#include <ccl/nn/conv.hpp>
#include <ccl/nn/dropout.hpp>
#include <ccl/nn/flatten.hpp>
#include <ccl/nn/init.hpp>
#include <ccl/nn/layer.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/nn/mlp.hpp>
#include <ccl/nn/nn.hpp>
#include <ccl/nn/pooling.hpp>
#include <ccl/nn/relu.hpp>
#include <ccl/nn/residual.hpp>
#include <ccl/nn/sequential.hpp>
#include <ccl/nn/spatio_temporal_conv.hpp>
#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>
#include <ccl/nn/tensor_linear.hpp>

#include <ccl/nn/encoders/conv_stack.hpp>
#include <ccl/nn/encoders/r2plus1d.hpp>

#include <ccl/modality/modality.hpp>

#include <ccl/metrics/accuracy.hpp>
#include <ccl/metrics/retrieval.hpp>

#include <ccl/optim/adam.hpp>
#include <ccl/optim/optim.hpp>
#include <ccl/optim/optimizer.hpp>
#include <ccl/optim/scheduler.hpp>
#include <ccl/optim/schedules.hpp>
#include <ccl/optim/sgd.hpp>

#include <ccl/io/checkpoint.hpp>

#include <ccl/pipeline/baseline_objectives.hpp>
#include <ccl/pipeline/bind.hpp>
#include <ccl/pipeline/branch.hpp>
#include <ccl/pipeline/ccl_objective.hpp>
#include <ccl/pipeline/encoder_traits.hpp>
#include <ccl/pipeline/features.hpp>
#include <ccl/pipeline/no_composition.hpp>
#include <ccl/pipeline/optimizer_groups.hpp>
#include <ccl/pipeline/pipeline.hpp>
#include <ccl/pipeline/progress.hpp>
#include <ccl/pipeline/student.hpp>
#include <ccl/pipeline/teacher.hpp>
#include <ccl/pipeline/trainer.hpp>

#include <ccl/pipeline/objectives/baseline_terms.hpp>
#include <ccl/pipeline/objectives/cmc_objective.hpp>
#include <ccl/pipeline/objectives/cor_objective.hpp>
#include <ccl/pipeline/objectives/crd_objective.hpp>
#include <ccl/pipeline/objectives/fitnet_objective.hpp>
#include <ccl/pipeline/objectives/memory_bank_objective.hpp>
#include <ccl/pipeline/objectives/pair_objective.hpp>
