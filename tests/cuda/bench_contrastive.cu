// GPU benchmark of multi-class NCE forward + backward (method.md §4.3) on the CUDA backend:
// cuBLAS tiles vs ccl's fused kernels, fp32 and TF32, over batch sizes up to the largest that
// fits. Prints a Markdown table; tests/cuda/torch_multiclass_nce.py prints the PyTorch peer's
// table for the same shapes, and scripts/gpu-check.sh runs both.
//
//   bench_cuda_contrastive [--dim D] [--tau T] [--repeat N] [--batches 1024,4096,...]
//
// time_ms is the mean of N calls after two warm-up calls, measured with CUDA events around the
// whole accumulate() (labels upload and loss read-back included); GFLOP/s counts the three
// 2·B²·D products of the GEMM formulation for every algorithm, so the rates are comparable;
// workspace_MiB is the device memory the loss object holds after its first call.

#include <ccl/core/rng.hpp>
#include <ccl/cuda.hpp>
#include <ccl/loss/multiclass_nce.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

struct Args {
  int dim = 512;
  double tau = 0.1;
  int repeat = 10;
  std::vector<long> batches{1024, 4096, 16384, 32768, 65536, 131072};
};

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--dim")
      args.dim = std::atoi(argv[i + 1]);
    else if (key == "--tau")
      args.tau = std::atof(argv[i + 1]);
    else if (key == "--repeat")
      args.repeat = std::atoi(argv[i + 1]);
    else if (key == "--batches") {
      args.batches.clear();
      for (char* p = std::strtok(argv[i + 1], ","); p != nullptr; p = std::strtok(nullptr, ","))
        args.batches.push_back(std::atol(p));
    }
  }
  return args;
}

double free_mib() {
  std::size_t free = 0, total = 0;
  CCL_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return double(free) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  const auto status = ccl::gpu::device_status();
  if (!status.available()) {
    std::printf("SKIPPED: %s\n", status.describe().c_str());
    return 77;
  }
  const Args args = parse(argc, argv);
  std::printf("device: %s, D = %d, tau = %g, %d timed calls\n\n", ccl::gpu::device_name(0).c_str(),
              args.dim, args.tau, args.repeat);
  std::printf("| B | algorithm | time_ms | GFLOP/s | workspace_MiB | loss |\n");
  std::printf("|---|---|---|---|---|---|\n");
  struct Variant {
    const char* name;
    ccl::gpu::ContrastiveAlgorithm algorithm;
    bool tf32;
  };
  const Variant variants[] = {{"cublas fp32", ccl::gpu::ContrastiveAlgorithm::cublas, false},
                              {"cublas tf32", ccl::gpu::ContrastiveAlgorithm::cublas, true},
                              {"fused fp32", ccl::gpu::ContrastiveAlgorithm::fused, false},
                              {"fused tf32", ccl::gpu::ContrastiveAlgorithm::fused, true}};
  bool fits[4] = {true, true, true, true};
  for (long batch : args.batches) {
    ccl::gpu::DeviceMatrix<float> f, g, grad_f, grad_g;
    std::vector<int> labels(static_cast<std::size_t>(batch));
    try {
      ccl::Rng rng(1);
      ccl::RowMatrix<float> host(batch, args.dim);
      rng.fill_normal(host);
      f = ccl::gpu::to_device(host);
      rng.fill_normal(host);
      g = ccl::gpu::to_device(host);
      grad_f.resize(batch, args.dim);
      grad_g.resize(batch, args.dim);
      grad_f.zero();
      grad_g.zero();
    } catch (const std::exception& e) {
      std::printf("| %ld | inputs | out of memory | | | |\n", batch);
      break;
    }
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i % 51);
    for (int v = 0; v < 4; ++v) {
      if (!fits[v]) continue;
      ccl::gpu::Settings settings;
      settings.contrastive = variants[v].algorithm;
      settings.allow_tf32 = variants[v].tf32;
      ccl::gpu::ScopedSettings scope(settings);
      try {
        const double before = free_mib();
        ccl::loss::MultiClassNce<float, ccl::cuda> loss(args.tau);
        float value = 0;
        for (int w = 0; w < 2; ++w) {
          value = loss.accumulate(f.view(), g.view(), labels, 1.0f, grad_f.mutable_view(),
                                  grad_g.mutable_view());
        }
        const double workspace = before - free_mib();
        cudaEvent_t start, stop;
        CCL_CUDA_CHECK(cudaEventCreate(&start));
        CCL_CUDA_CHECK(cudaEventCreate(&stop));
        CCL_CUDA_CHECK(cudaEventRecord(start));
        for (int r = 0; r < args.repeat; ++r) {
          value = loss.accumulate(f.view(), g.view(), labels, 1.0f, grad_f.mutable_view(),
                                  grad_g.mutable_view());
        }
        CCL_CUDA_CHECK(cudaEventRecord(stop));
        CCL_CUDA_CHECK(cudaEventSynchronize(stop));
        float ms = 0;
        CCL_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
        (void)cudaEventDestroy(start);
        (void)cudaEventDestroy(stop);
        const double per_call = double(ms) / args.repeat;
        const double flops = 3.0 * 2.0 * double(batch) * double(batch) * args.dim;
        std::printf("| %ld | %s | %.3f | %.0f | %.0f | %.6f |\n", batch, variants[v].name, per_call,
                    flops / (per_call * 1e-3) * 1e-9, workspace, double(value));
      } catch (const std::exception& e) {
        std::printf("| %ld | %s | failed: %s | | | |\n", batch, variants[v].name, e.what());
        fits[v] = false;
        (void)cudaGetLastError();
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
