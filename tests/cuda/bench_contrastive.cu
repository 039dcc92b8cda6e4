// GPU benchmark of multi-class NCE forward + backward (method.md §4.3) on the CUDA backend:
// cuBLAS tiles vs ccl's fused kernels, fp32 and TF32, over batch sizes up to the largest that
// fits. Prints a Markdown table and, with --json, writes the same rows as JSON;
// tests/cuda/torch_multiclass_nce.py does the same for the PyTorch peer on the same shapes,
// bench/gpu_table.py puts the two side by side, and scripts/gpu-check.sh runs all three.
//
//   bench_cuda_contrastive [--dim D] [--tau T] [--repeat N] [--batches 1024,4096,...]
//                          [--max-call-ms MS] [--point-seconds S] [--json FILE]
//
// Batches: by default every power of two from 1024 to 262,144. Both algorithms need O(B·D)
// memory (plus O(tile·B) for cuBLAS's logit tiles), so on an 80 GiB card time, not memory, ends
// the sweep: an algorithm stops growing B after the first batch whose call takes longer than
// --max-call-ms (default 1500), or that fails (out of memory). The JSON records, per algorithm,
// the largest B measured and why the sweep stopped, and the largest B whose inputs, gradients and
// measured workspace would fit into the free device memory (`memory_bound_B`, an estimate).
//
// time_ms is the mean of the timed calls after two warm-up calls (one where a call exceeds a
// second), CUDA events around the whole accumulate() (labels upload and loss read-back included);
// the number of timed calls is --repeat, fewer where that would exceed --point-seconds (at least
// 2). GFLOP/s counts the three 2·B²·D products of the GEMM formulation for every algorithm, so the
// rates are comparable; workspace_MiB is the device memory the loss object holds after its first
// call.

#include <ccl/core/rng.hpp>
#include <ccl/cuda.hpp>
#include <ccl/loss/multiclass_nce.hpp>

#include <algorithm>
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
  double max_call_ms = 1500;
  double point_seconds = 4;
  std::string json;
  std::vector<long> batches{1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144};
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
      args.repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (key == "--max-call-ms")
      args.max_call_ms = std::atof(argv[i + 1]);
    else if (key == "--point-seconds")
      args.point_seconds = std::atof(argv[i + 1]);
    else if (key == "--json")
      args.json = argv[i + 1];
    else if (key == "--batches") {
      args.batches.clear();
      for (char* p = std::strtok(argv[i + 1], ","); p != nullptr; p = std::strtok(nullptr, ","))
        args.batches.push_back(std::atol(p));
    } else {
      std::fprintf(stderr, "bench_cuda_contrastive: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  return args;
}

double free_mib() {
  std::size_t free = 0, total = 0;
  CCL_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return double(free) / (1 << 20);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\t') ? ' ' : c;
  }
  return out + "\"";
}

struct Variant {
  const char* name;
  ccl::gpu::ContrastiveAlgorithm algorithm;
  bool tf32;
  // The sweep's state.
  bool active = true;
  long largest = 0;
  std::string stopped = "end of the batch list";
  double memory_bound = 0;
};

/// Events around the timed calls on the legacy default stream; elapsed milliseconds.
class Timer {
 public:
  void start() { start_.record(nullptr); }
  double stop() {
    stop_.record(nullptr);
    stop_.synchronize();
    return ccl::gpu::Event::elapsed_ms(start_, stop_);
  }

 private:
  ccl::gpu::Event start_{cudaEventDefault}, stop_{cudaEventDefault};
};

}  // namespace

int main(int argc, char** argv) {
  const auto status = ccl::gpu::device_status();
  if (!status.available()) {
    std::printf("SKIPPED: %s\n", status.describe().c_str());
    return 77;
  }
  const Args args = parse(argc, argv);
  const std::string device = ccl::gpu::device_name(0);
  std::printf("device: %s, D = %d, tau = %g, up to %d timed calls, %.0f ms per call at most\n\n",
              device.c_str(), args.dim, args.tau, args.repeat, args.max_call_ms);
  std::printf("| B | algorithm | time_ms | GFLOP/s | workspace_MiB | loss | calls |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::vector<Variant> variants = {{"cublas fp32", ccl::gpu::ContrastiveAlgorithm::cublas, false},
                                   {"cublas tf32", ccl::gpu::ContrastiveAlgorithm::cublas, true},
                                   {"fused fp32", ccl::gpu::ContrastiveAlgorithm::fused, false},
                                   {"fused tf32", ccl::gpu::ContrastiveAlgorithm::fused, true}};
  std::string rows;  // JSON objects, comma-separated
  auto add_row = [&](long batch, const Variant& v, const std::string& fields) {
    if (!rows.empty()) rows += ",\n  ";
    rows += "{\"B\": " + std::to_string(batch) + ", \"algorithm\": " + json_string(v.name) +
            ", \"tf32\": " + (v.tf32 ? "1" : "0") + fields + "}";
  };
  for (long batch : args.batches) {
    if (std::none_of(variants.begin(), variants.end(), [](const Variant& v) { return v.active; }))
      break;
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
      std::printf("| %ld | inputs | failed: %s | | | | |\n", batch, e.what());
      for (Variant& v : variants) {
        if (!v.active) continue;
        v.active = false;
        v.stopped = "inputs of the next batch did not fit";
        add_row(batch, v, ", \"error\": " + json_string(e.what()));
      }
      (void)cudaGetLastError();
      break;
    }
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i % 51);
    const double input_mib = 4.0 * double(batch) * args.dim * sizeof(float) / (1 << 20);
    for (Variant& v : variants) {
      if (!v.active) continue;
      ccl::Execution<ccl::cuda> execution;
      execution.contrastive = v.algorithm;
      execution.allow_tf32 = v.tf32;
      try {
        const double before = free_mib();
        ccl::loss::MultiClassNce<float, ccl::cuda> loss(args.tau);
        loss.set_execution(execution);
        float value = 0;
        auto call = [&] {
          value = loss.accumulate(f.view(), g.view(), labels, 1.0f, grad_f.mutable_view(),
                                  grad_g.mutable_view());
        };
        Timer timer;
        timer.start();
        call();
        const double first_ms = timer.stop();
        const double workspace = before - free_mib();
        if (first_ms < 1000) call();  // a second warm-up where it is cheap
        const int calls = std::max(
            2, std::min(args.repeat, int(args.point_seconds * 1e3 / std::max(first_ms, 1e-3))));
        timer.start();
        for (int r = 0; r < calls; ++r) call();
        const double per_call = timer.stop() / calls;
        const double flops = 3.0 * 2.0 * double(batch) * double(batch) * args.dim;
        const double gflops = flops / (per_call * 1e-3) * 1e-9;
        // Inputs, gradients and this algorithm's workspace scale with B (the cuBLAS tiles with
        // B too): the largest B whose memory would fit now, for the record.
        const double per_row_mib = (input_mib + std::max(workspace, 0.0)) / double(batch);
        v.memory_bound = (before + input_mib) / per_row_mib;
        v.largest = batch;
        std::printf("| %ld | %s | %.3f | %.0f | %.0f | %.6f | %d |\n", batch, v.name, per_call,
                    gflops, workspace, double(value), calls);
        char fields[320];
        std::snprintf(fields, sizeof(fields),
                      ", \"time_ms\": %.6g, \"first_call_ms\": %.6g, \"GFLOPs\": %.6g, "
                      "\"workspace_MiB\": %.6g, \"loss\": %.9g, \"calls\": %d",
                      per_call, first_ms, gflops, workspace, double(value), calls);
        add_row(batch, v, fields);
        if (per_call > args.max_call_ms) {
          v.active = false;
          v.stopped = "time cap (" + std::to_string(int(args.max_call_ms)) + " ms per call)";
        }
      } catch (const std::exception& e) {
        std::printf("| %ld | %s | failed: %s | | | | |\n", batch, v.name, e.what());
        v.active = false;
        v.stopped = std::string("failed at B = ") + std::to_string(batch) + ": " + e.what();
        add_row(batch, v, ", \"error\": " + json_string(e.what()));
        (void)cudaGetLastError();
      }
      std::fflush(stdout);
    }
  }
  std::printf(
      "\n| algorithm | largest B measured | sweep stopped by | B that memory would allow |\n");
  std::printf("|---|---|---|---|\n");
  std::string summary;
  for (const Variant& v : variants) {
    std::printf("| %s | %ld | %s | ~%.0f |\n", v.name, v.largest, v.stopped.c_str(),
                v.memory_bound);
    if (!summary.empty()) summary += ",\n  ";
    summary += "{\"algorithm\": " + json_string(v.name) +
               ", \"largest_B\": " + std::to_string(v.largest) +
               ", \"stopped\": " + json_string(v.stopped) +
               ", \"memory_bound_B\": " + std::to_string(long(v.memory_bound)) + "}";
  }
  if (!args.json.empty()) {
    if (FILE* out = std::fopen(args.json.c_str(), "w")) {
      std::fprintf(out,
                   "{\"device\": %s, \"dim\": %d, \"tau\": %g, \"max_call_ms\": %g,\n"
                   " \"results\": [\n  %s],\n \"sweep\": [\n  %s]}\n",
                   json_string(device).c_str(), args.dim, args.tau, args.max_call_ms, rows.c_str(),
                   summary.c_str());
      std::fclose(out);
    } else {
      std::fprintf(stderr, "bench_cuda_contrastive: cannot write %s\n", args.json.c_str());
      return 1;
    }
  }
  return 0;
}
