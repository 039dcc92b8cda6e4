#pragma once
// The public vocabulary of the memory-bank losses CRD (crd.hpp) and CMC (cmc.hpp): their options,
// the index types of their lower-level steps (sample / score / update_memory), the scoring
// objective and the state a checkpoint or the other backend takes over. Everything a caller
// names lives here; the engines behind it are in detail/.

#include <ccl/core/label_view.hpp>
#include <ccl/core/types.hpp>

#include <Eigen/Core>

#include <string>

namespace ccl::loss::baselines {

/// Dataset indices of the samples of a batch (32- or 64-bit integers, like labels).
using SampleIndices = LabelView;

/// Contrast indices of a batch: row i holds the own index of sample i, then its K negatives.
using ContrastIndices = Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// How the K+1 scores of an anchor become a loss.
enum class ContrastObjective {
  nce,      ///< the NCE form of CRD (Eq. 18 of CRD), with Z fixed at the first batch
  softmax,  ///< cross-entropy with target 0 over the K+1 logits score/T (CMC --softmax)
};

struct MemoryContrastOptions {
  Index negatives = 16384;    ///< K
  double temperature = 0.07;  ///< T
  double momentum = 0.5;      ///< μ of the memory update
  bool check_finite = true;
};

/// Everything a memory-bank loss (CRD, CMC) carries from step to step, as host data: the two
/// banks, Z_s and Z_t (negative until the first NCE batch) and the negative sampler's generator.
/// state() / load_state() move it between a loss and a checkpoint, or between the CPU and CUDA
/// backends (a run continues identically on either).
template <class Scalar>
struct MemoryBankState {
  RowMatrix<Scalar> memory_student, memory_teacher;
  double z_student = -1, z_teacher = -1;
  std::string rng_state;
};

}  // namespace ccl::loss::baselines
