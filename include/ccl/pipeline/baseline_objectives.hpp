#pragma once
// The Table 1 baselines (method.md §8) as pipeline branch objectives, in
// ccl::pipeline::objectives (one header each under ccl/pipeline/objectives/):
//
//   PktObjective<S>     PKT     β = 30000        PairObjective<Pkt<S>, S>, no trainable part
//   RkdObjective<S>     RKD     β = 1            PairObjective<Rkd<S>, S>, no trainable part
//   IfdObjective<S>     IFD     β = 600 [ours]   PairObjective<Ifd<S>, S>, no trainable part
//   FitNetObjective<S>  FitNet  β = 100          regressor Linear → BatchNorm1d → ReLU
//   CorObjective<S>     COR     β = 0.02         two LinearEmbed heads
//   CrdObjective<S>     CRD     β = 0.8          two heads, memory banks, dataset indices
//   CmcObjective<S>     CMC     β = 0.8 [ours]   two heads, memory banks, dataset indices
//
// Each takes a trailing Backend (ccl::cpu by default; ccl::cuda with <ccl/cuda.hpp>): the same
// code runs on device views, device heads and device losses.
//
// Each goes into a branch with NoComposition<S>: total = CE(z_v, y) + Σ_branches β · L(x_v, x_t)
// (AI mode: both teachers' terms added). docs/baselines.md, "Baselines in the pipeline".

#include <ccl/pipeline/no_composition.hpp>
#include <ccl/pipeline/objectives/baseline_terms.hpp>
#include <ccl/pipeline/objectives/cmc_objective.hpp>
#include <ccl/pipeline/objectives/cor_objective.hpp>
#include <ccl/pipeline/objectives/crd_objective.hpp>
#include <ccl/pipeline/objectives/fitnet_objective.hpp>
#include <ccl/pipeline/objectives/pair_objective.hpp>
