// ucf51_train: Table 1 of the CCL paper on UCF51 — the official R(2+1)D student trained with
// cross-entropy alone (baseline) and with CCL from the audio teacher (A), the image teacher (I)
// or both (AI), with the official recipe (method.md §5), per-epoch validation, resumable
// checkpoints and the final video-level test; on the GPU (--backend cuda) or the CPU.
//
//   ucf51_train --videos UCF101-hdf5 --audio features/audio --image features/image --out run
//   ucf51_train ... --methods CCL --modes AI --epochs 300        (one cell)
//   ucf51_train --synthetic DIR --student narrow --feature-dim 64 --frames 4 --size 16 ...
//
// Writes OUT/table1.md (Table 1's layout, ours beside the paper's), OUT/ucf51_train.json (options,
// every cell's per-epoch log, best epoch, test top-1) and per cell OUT/<cell>/{last.ckpt,
// best.ckpt, log.jsonl, result.json}. Rerunning the same command resumes: finished cells are read
// back, an unfinished one continues from its last checkpoint. docs/reproducing-table1.md has the
// whole procedure.
//
// Under mpirun (built against ccl::mpi) the CPU backend trains every cell data-parallel over the
// ranks, --batch-size being the global batch (train.hpp, run_cpu.cpp); rank 0 alone prints and
// writes the outputs. The ranks read the dataset each (with --synthetic, rank 0 writes it first).
//
//   mpirun -np 4 ucf51_train --backend cpu --videos ... --audio ... --out run

#include "config.hpp"
#include "entry.hpp"
#include "source.hpp"
#include "../common/ucf51_synthetic_layout.hpp"
#include "../common/ranks.hpp"

#include <ccl/core/error.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ucf51_train;
using nlohmann::json;

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::cerr
      << "ucf51_train: " << problem << "\n"
      << "usage: ucf51_train --videos DIR --audio DIR [--image DIR] [--out DIR]\n"
      << "  cells:     [--methods baseline,CCL] [--modes A,I,AI]\n"
      << "  backend:   [--backend auto|cuda|cpu] [--tf32]\n"
      << "  student:   [--student official|narrow] [--frames 16] [--size 112] [--feature-dim 512]\n"
      << "  recipe:    [--epochs 300] [--batch-size 16] [--lr 1e-3] [--head-lr 1e-3]\n"
      << "             [--momentum 0.9] [--weight-decay 5e-4] [--milestones 150,225] [--gamma 0.1]\n"
      << "             [--seed 1]\n"
      << "  eval:      [--eval-batch 32] [--test-model best|last|both]\n"
      << "  data:      [--threads N] [--no-prefetch] [--any-classes]\n"
      << "  run:       [--no-resume] [--progress auto|bar|lines|none] [--drop-last]\n"
      << "  under mpirun -np N (CPU backend): data-parallel, --batch-size the global batch\n"
      << "  --cuda-check                 print the CUDA device; exit status 0 when one is usable\n"
      << "  smoke run: --synthetic DIR   write a tiny 3-class layout into DIR and train on it\n";
  std::exit(2);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

struct Parsed {
  Config config;
  fs::path synthetic;
};

Parsed parse(int argc, char** argv) {
  Parsed p;
  Config& c = p.config;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--videos") c.videos = value();
      else if (arg == "--audio") c.audio = value();
      else if (arg == "--image") c.image = value();
      else if (arg == "--out") c.out = value();
      else if (arg == "--synthetic") p.synthetic = value();
      else if (arg == "--cuda-check") {  // for scripts: exit status 0 when a device is usable
        std::cout << (cuda_device_present() ? "CUDA device: " : "") << cuda_device_description()
                  << "\n";
        std::exit(cuda_device_present() ? 0 : 1);
      }
      else if (arg == "--any-classes") c.any_classes = true;
      else if (arg == "--backend") c.backend = value();
      else if (arg == "--tf32") c.tf32 = true;
      else if (arg == "--student") c.student = value();
      else if (arg == "--frames") c.frames = std::stol(value());
      else if (arg == "--size") c.size = std::stol(value());
      else if (arg == "--feature-dim") c.feature_dim = std::stol(value());
      else if (arg == "--epochs") c.epochs = std::stol(value());
      else if (arg == "--batch-size") c.batch_size = std::stol(value());
      else if (arg == "--lr") c.lr = std::stod(value());
      else if (arg == "--head-lr") c.head_lr = std::stod(value());
      else if (arg == "--momentum") c.momentum = std::stod(value());
      else if (arg == "--weight-decay") c.weight_decay = std::stod(value());
      else if (arg == "--gamma") c.gamma = std::stod(value());
      else if (arg == "--seed") c.seed = std::stoull(value());
      else if (arg == "--eval-batch") c.eval_batch = std::stol(value());
      else if (arg == "--test-model") c.test_model = value();
      else if (arg == "--threads") c.threads = std::stoi(value());
      else if (arg == "--no-prefetch") c.prefetch = false;
      else if (arg == "--no-resume") c.resume = false;
      else if (arg == "--drop-last") c.drop_last = true;
      else if (arg == "--milestones") {
        c.milestones.clear();
        for (const auto& m : split_list(value())) c.milestones.push_back(std::stol(m));
      } else if (arg == "--methods") {
        c.methods.clear();
        for (const auto& m : split_list(value())) {
          if (m == "baseline") c.methods.push_back(Method::baseline);
          else if (m == "CCL" || m == "ccl") c.methods.push_back(Method::ccl);
          else usage("unknown method '" + m + "' (baseline, CCL; the other Table 1 baselines are "
                     "CPU-only pipeline objectives: examples/table1)");
        }
      } else if (arg == "--modes") {
        c.modes.clear();
        for (const auto& m : split_list(value())) {
          if (m == "A") c.modes.push_back(Mode::audio);
          else if (m == "I") c.modes.push_back(Mode::image);
          else if (m == "AI") c.modes.push_back(Mode::both);
          else usage("unknown mode '" + m + "' (A, I, AI)");
        }
      } else if (arg == "--progress") {
        const std::string s = value();
        using ccl::pipeline::ProgressStyle;
        if (s == "auto") c.progress = ProgressStyle::automatic;
        else if (s == "bar") c.progress = ProgressStyle::bar;
        else if (s == "lines") c.progress = ProgressStyle::lines;
        else if (s == "none") c.progress = ProgressStyle::none;
        else usage("unknown progress style '" + s + "'");
      } else if (arg == "--help" || arg == "-h") {
        usage("help");
      } else {
        usage("unknown option " + arg);
      }
    } catch (const std::logic_error&) {  // std::stol & co. on a malformed number
      usage("bad value for " + arg);
    }
  }
  if (p.synthetic.empty() && (c.videos.empty() || c.audio.empty()))
    usage("--videos and --audio are required (or --synthetic DIR)");
  if (c.backend != "auto" && c.backend != "cpu" && c.backend != "cuda")
    usage("--backend must be auto, cpu or cuda");
  if (c.test_model != "best" && c.test_model != "last" && c.test_model != "both")
    usage("--test-model must be best, last or both");
  if (c.methods.empty()) usage("--methods is empty");
  if (c.epochs < 0 || c.batch_size < 1 || c.eval_batch < 1) usage("bad --epochs / --batch-size / --eval-batch");
  return p;
}

/// The paper's Table 1, UCF51 (method.md §7.1): A, I, AI.
std::array<double, 3> paper_ucf51(Method m) {
  return m == Method::baseline ? std::array<double, 3>{57.5, 57.5, 57.5}
                               : std::array<double, 3>{64.9, 69.1, 70.0};
}

std::string percent(double value) {
  if (!std::isfinite(value)) return "–";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", 100 * value);
  return buffer;
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// The epochs of a cell's log, the last line per epoch (a resumed epoch is logged twice).
json read_log(const fs::path& path) {
  std::map<long long, json> epochs;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json record = json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.contains("epoch")) continue;  // a torn last line
    epochs[record["epoch"].get<long long>()] = record;
  }
  json out = json::array();
  for (auto& [epoch, record] : epochs) out.push_back(record);
  return out;
}

json cell_json(const CellResult& r, const fs::path& dir) {
  json cell;
  cell["method"] = to_string(r.method);
  cell["teachers"] = to_string(r.mode);
  cell["backend"] = r.backend;
  cell["epochs"] = r.epochs;
  cell["best_epoch"] = r.best_epoch;
  cell["test_top1"] = number_or_null(r.test_top1);
  cell["test_top1_best_epoch"] = number_or_null(r.test_top1_best);
  cell["test_top1_last_epoch"] = number_or_null(r.test_top1_last);
  cell["test_videos"] = r.test_videos;
  cell["test_windows"] = r.test_windows;
  cell["student_parameters"] = r.student_parameters;
  cell["head_parameters"] = r.head_parameters;
  cell["seconds"] = r.seconds;
  cell["log"] = read_log(dir / "log.jsonl");
  cell["best_val_top1"] = nullptr;
  for (const auto& e : cell["log"])
    if (e["epoch"].get<long long>() == r.best_epoch) cell["best_val_top1"] = e["val_top1"];
  return cell;
}

json config_json(const Config& c) {
  json j;
  j["videos"] = c.videos.string();
  j["audio"] = c.audio.string();
  j["image"] = c.image.string();
  j["student"] = c.student;
  j["frames"] = c.frames;
  j["size"] = c.size;
  j["feature_dim"] = c.feature_dim;
  j["epochs"] = c.epochs;
  j["batch_size"] = c.batch_size;
  j["lr"] = c.lr;
  j["head_lr"] = c.head_lr;
  j["momentum"] = c.momentum;
  j["weight_decay"] = c.weight_decay;
  j["milestones"] = c.milestones;
  j["gamma"] = c.gamma;
  j["seed"] = c.seed;
  j["eval_batch"] = c.eval_batch;
  j["test_model"] = c.test_model;
  j["tf32"] = c.tf32;
  j["prefetch"] = c.prefetch;
  return j;
}

std::string markdown(const std::map<std::string, json>& cells, const Config& c) {
  std::string out =
      "| Method | A (ours) | I (ours) | AI (ours) | A (paper) | I (paper) | AI (paper) |\n"
      "|---|---|---|---|---|---|---|\n";
  for (Method m : c.methods) {
    out += std::string("| ") + (m == Method::ccl ? "**CCL**" : "baseline") + " |";
    for (const char* mode : {"A", "I", "AI"}) {
      const std::string key = m == Method::baseline ? "baseline" : std::string("CCL-") + mode;
      const auto it = cells.find(key);
      const bool ran = it != cells.end() && !it->second["test_top1"].is_null();
      out += " " + (ran ? percent(it->second["test_top1"].get<double>()) : std::string("–")) + " |";
    }
    for (double p : paper_ucf51(m)) out += " " + percent(p / 100) + " |";
    out += "\n";
  }
  out += "\nUCF51 split 1, video-level top-1 (%) of the " +
         std::string(c.test_model == "last" ? "last epoch's" : "best validation epoch's") +
         " student (" + std::to_string(c.epochs) + " epochs, " + c.student + " R(2+1)D, " +
         std::to_string(c.frames) + "x" + std::to_string(c.size) + "x" + std::to_string(c.size) +
         " clips, seed " + std::to_string(c.seed) + ").\n";
  return out;
}

int run(Parsed parsed, ccl_examples::Communicator& comm) {
  Config& c = parsed.config;
  const int ranks = comm.size();
  const bool lead = comm.lead();  // prints and writes every output
  // Configurations the ranks cannot run, raised on every rank before any work.
  if (ranks > 1) {
    ccl::require(c.backend != "cuda", "ucf51_train: --backend cuda runs in one process only; "
                 "under mpirun (", ranks, " ranks) use --backend cpu (device pipelines over a "
                 "communicator are not supported yet: docs/distributed.md)");
    ccl::require(c.batch_size % ranks == 0, "ucf51_train: the batch of ", c.batch_size,
                 " clips is not divisible by ", ranks,
                 " ranks (--batch-size is the global batch: each rank trains on its 1/R of it)");
  }
  if (!parsed.synthetic.empty()) {
    const fs::path root = parsed.synthetic / "data";
    // Rank 0 writes the layout, the others read it once it is there (a shared directory).
    ccl_examples::SyntheticLayout layout{root / "videos", root / "audio", root / "image"};
    if (lead) layout = ccl_examples::write_synthetic_layout(root, c.feature_dim);
    comm.barrier();
    c.videos = layout.videos;
    c.audio = layout.audio;
    c.image = layout.image;
    c.any_classes = true;
  }
  // The device is for one process only (above): several ranks train on the CPU.
  if (c.backend == "auto") c.backend = ranks == 1 && cuda_device_present() ? "cuda" : "cpu";
  if (lead) {
    std::cout << "backend: " << c.backend
              << (c.backend == "cuda" ? " (" + cuda_device_description() + ")" : std::string())
              << (ranks > 1 ? ", data-parallel over " + std::to_string(ranks) + " ranks"
                            : std::string())
              << "\n";
    if (c.backend == "cpu" && c.student == "official")
      std::cout << "note: the official student on the CPU takes about half a minute per step of "
                   "16 clips (docs/reproducing-table1.md)\n";
  }

  Ucf51Source data(c);
  if (lead) {
    std::cout << data.summary() << "\n" << std::flush;
    fs::create_directories(c.out);
  }

  std::vector<std::pair<Method, Mode>> cells;
  for (Method m : c.methods) {
    if (m == Method::baseline) cells.emplace_back(m, Mode::none);
    else
      for (Mode mode : c.modes) cells.emplace_back(m, mode);
  }
  std::map<std::string, json> done;
  json record;
  record["config"] = config_json(c);
  record["config"]["backend"] = c.backend;
  record["dataset"] = {{"classes", data.classes()},
                       {"train_videos", data.train_videos()},
                       {"test_videos", data.test_videos()}};
  record["cells"] = json::array();
  for (const auto& [method, mode] : cells) {
    const fs::path dir = cell_dir(c, method, mode);
    const fs::path result_path = dir / "result.json";
    const std::string key = method == Method::baseline ? "baseline" : std::string("CCL-") + to_string(mode);
    json cell;
    if (lead && c.resume && fs::exists(result_path)) {
      std::ifstream in(result_path);
      cell = json::parse(in);
    }
    // A finished cell is read back; one with fewer epochs than asked continues from last.ckpt.
    // Rank 0 decides for every rank.
    if (ccl_examples::rank_zero_value(comm,
                                 !cell.is_null() && cell.value("epochs", Index(-1)) == c.epochs)) {
      if (lead) std::cout << key << ": finished earlier (" << result_path.string() << ")\n";
    } else {
      if (lead)
        std::cout << key << ": training " << c.epochs << " epochs on " << c.backend << "\n"
                  << std::flush;
      const CellResult r = c.backend == "cuda" ? run_cell_cuda(method, mode, c, data)
                                               : run_cell_cpu(method, mode, c, data, comm);
      if (!lead) continue;  // rank 0 reports the cell
      cell = cell_json(r, dir);
      std::ofstream(result_path) << cell.dump(2) << "\n";
    }
    if (!lead) continue;
    std::cout << key << ": best epoch " << cell["best_epoch"] << ", video-level test top-1 "
              << (cell["test_top1"].is_null() ? std::string("–")
                                              : percent(cell["test_top1"].get<double>()))
              << " %\n";
    done[key] = cell;
    record["cells"].push_back(cell);
  }
  if (!lead) return 0;
  const std::string table = markdown(done, c);
  std::ofstream(c.out / "table1.md") << table;
  std::ofstream(c.out / "ucf51_train.json") << record.dump(2) << "\n";
  std::cout << "\n" << table << "\nwrote " << (c.out / "table1.md").string() << " and "
            << (c.out / "ucf51_train.json").string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef CCL_EXAMPLES_MPI
  // Started by mpirun / srun: MPI_COMM_WORLD, and a rank that throws ends every rank
  // (dist::guard) instead of leaving them waiting in a collective.
  if (ccl_examples::launched_by_mpi()) {
    ccl::dist::environment env(argc, argv);
    return ccl::dist::guard([&] {
      ccl_examples::Communicator comm{ccl::dist::mpi()};
      run(parse(argc, argv), comm);
    });
  }
#endif
  try {  // one process, which never calls MPI
    ccl_examples::Communicator one;
    return run(parse(argc, argv), one);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
