// Catch2 runner of the CUDA tests. Compiled by the host compiler (it needs only the CUDA runtime
// API), it reports which device the tests run on and lets ctest tell "skipped" from "passed":
//
//   test_cuda [host]               tests that need no device (compile-and-link, argument checks,
//                                  error messages); they pass on machines without a GPU
//   test_cuda --require-device [gpu]
//                                  the CUDA-vs-CPU comparisons; exits with code 77 (ctest's
//                                  SKIP_RETURN_CODE) and says why when no device is usable.

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <ccl/cuda/device.hpp>

#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char* argv[]) {
  std::vector<char*> args;
  bool require_device = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--require-device") == 0) {
      require_device = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  const ccl::gpu::DeviceStatus status = ccl::gpu::device_status();
  if (status.available()) {
    std::printf("CUDA device 0: %s\n", ccl::gpu::device_name(0).c_str());
  } else if (require_device) {
    std::printf(
        "SKIPPED: %s; the [gpu] tests compare the CUDA backend with the CPU on a device "
        "and cannot run here\n",
        status.describe().c_str());
    return 77;
  } else {
    std::printf("%s; running the tests that need no device\n", status.describe().c_str());
  }
  return Catch::Session().run(static_cast<int>(args.size()), args.data());
}
