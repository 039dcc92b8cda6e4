#pragma once
// Every Table 1 baseline on the CUDA backend (docs/cuda.md, "Baselines"): Kd, FitNet, Pkt,
// CorrelationCongruence, Rkd, Ifd, Crd, Cmc with the ccl::cuda tag.

#include <ccl/cuda/loss/baselines/cmc.hpp>
#include <ccl/cuda/loss/baselines/correlation_congruence.hpp>
#include <ccl/cuda/loss/baselines/crd.hpp>
#include <ccl/cuda/loss/baselines/fitnet.hpp>
#include <ccl/cuda/loss/baselines/ifd.hpp>
#include <ccl/cuda/loss/baselines/kd.hpp>
#include <ccl/cuda/loss/baselines/pkt.hpp>
#include <ccl/cuda/loss/baselines/rkd.hpp>
