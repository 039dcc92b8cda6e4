// The training template on the CPU backend (ccl::cpu).

#include "entry.hpp"
#include "train.hpp"

namespace ucf51_train {

CellResult run_cell_cpu(Method method, Mode mode, const Config& config, Ucf51Source& data) {
  CellResult result = run_cell<ccl::cpu>(method, mode, config, data);
  result.backend = "cpu";
  return result;
}

}  // namespace ucf51_train
