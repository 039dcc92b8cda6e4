// The training template on the CPU backend (ccl::cpu), over the run's ranks: one process, or
// MPI_COMM_WORLD under mpirun (the examples' run-time communicator, ../common/ranks.hpp).
//
// With R > 1 ranks the student's BatchNorms are dist::SyncBatchNorm3d and the CCL objective runs
// on the global batch (dist::GlobalObjective); with one rank the plain BatchNorm3d and the
// objective itself, so that a one-process run is bit-identical to a build without MPI
// (../table1/student.hpp and ../common/ranks.hpp say why the synchronised parts are not).

#include "../common/ranks.hpp"
#include "entry.hpp"
#include "train.hpp"

#include <ccl/dist/gradients.hpp>
#include <ccl/dist/sync_batch_norm_layer.hpp>

#include <type_traits>
#include <utility>
#include <variant>

namespace ucf51_train {

namespace {

using Communicator = ccl_examples::Communicator;

/// r2plus1d's norm factory for the data-parallel student.
struct MakeSyncBatchNorm {
  Communicator* comm;
  ccl::dist::SyncBatchNorm3d<float, Communicator> operator()(Index channels) const {
    return ccl::dist::SyncBatchNorm3d<float, Communicator>(*comm, channels);
  }
};

using PlainNet = ccl::nn::encoders::R2Plus1d<float, ccl::cpu>;
using SyncNet = decltype(ccl::nn::encoders::r2plus1d<float, ccl::cpu>(
    std::declval<const ccl::nn::encoders::R2Plus1dOptions&>(), std::declval<ccl::Rng&>(),
    std::declval<const MakeSyncBatchNorm&>()));

static_assert(std::is_same_v<PlainNet::Input, SyncNet::Input> &&
                  std::is_same_v<PlainNet::Output, SyncNet::Output>,
              "ucf51_train: the synchronised R(2+1)D must take and give the plain one's tensors");

/// The R(2+1)D with plain or synchronised BatchNorms, chosen at run time, so that the pipeline
/// (and every CCL branch) is compiled once. The same parameters from the same draws either way
/// (the norm factory draws nothing), and the same buffer names, so checkpoints carry over.
class RankEncoder {
 public:
  using scalar_type = float;
  using Input = PlainNet::Input;
  using Output = PlainNet::Output;

  RankEncoder(const ccl::nn::encoders::R2Plus1dOptions& o, ccl::Rng& rng, Communicator& comm)
      : net_(make(o, rng, comm)) {}

  const Output& forward(const Input& x) {
    return std::visit([&](auto& net) -> const Output& { return net.forward(x); }, net_);
  }
  void backward(const Output& grad_y) {
    std::visit([&](auto& net) { net.backward(grad_y); }, net_);
  }
  void set_training(bool on) {
    std::visit([&](auto& net) { net.set_training(on); }, net_);
  }
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    std::visit([&](auto& net) { net.for_each_parameter(visit); }, net_);
  }
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    std::visit([&](auto& net) { net.for_each_buffer(visit); }, net_);
  }

 private:
  static std::variant<PlainNet, SyncNet> make(const ccl::nn::encoders::R2Plus1dOptions& o,
                                              ccl::Rng& rng, Communicator& comm) {
    if (comm.size() > 1)
      return ccl::nn::encoders::r2plus1d<float, ccl::cpu>(o, rng, MakeSyncBatchNorm{&comm});
    return ccl::nn::encoders::r2plus1d<float, ccl::cpu>(o, rng);
  }

  std::variant<PlainNet, SyncNet> net_;
};

/// The trainable parameters (the student's, then the heads' and objectives'), for
/// dist::average_gradients.
template <class Pipeline>
struct Trainable {
  Pipeline* pipeline;
  template <class Visit>
  void for_each_parameter(Visit&& visit) {
    pipeline->for_each_student_parameter(visit);
    pipeline->for_each_head_parameter(visit);
  }
};

}  // namespace

template <>
struct RankParts<ccl::cpu, Communicator> {
  using Student = ccl::pipeline::Student<RankEncoder, float, ccl::cpu>;

  static Student student(const Config& c, Index classes, ccl::Rng& rng, Communicator& comm) {
    const auto o = student_options(c);
    return Student(RankEncoder(o, rng, comm), o.embedding_dim(), classes, rng);
  }
  /// On the global batch over R > 1 ranks; on one rank the objective itself.
  template <class Objective>
  static auto objective(Communicator& comm, Objective objective) {
    return ccl_examples::data_parallel(comm, std::move(objective));
  }
  /// grad ← (1/R) Σ_r grad_r over the student's, the heads' and the objectives' parameters.
  template <class Pipeline>
  static void average_gradients(Communicator& comm, Pipeline& pipeline) {
    if (comm.size() == 1) return;
    Trainable<Pipeline> trainable{&pipeline};
    ccl::dist::average_gradients(comm, trainable);
  }
};

CellResult run_cell_cpu(Method method, Mode mode, const Config& config, Ucf51Source& data,
                        Communicator& comm) {
  CellResult result = run_cell<ccl::cpu>(method, mode, config, data, comm);
  result.backend = "cpu";
  return result;
}

}  // namespace ucf51_train
