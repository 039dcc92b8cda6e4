// Checkpoints: CRC-32 against its published check value; the byte layout of docs/checkpoints.md;
// bit-identical round trips; a run resumed from a checkpoint continues bit-identically (SGD with
// momentum and a schedule, Adam); truncated, corrupted, wrong-magic, wrong-version and
// wrong-architecture files are refused with a clear ccl::error and leave the live objects
// untouched; a failed save leaves the previous checkpoint in place.

#include <catch2/catch.hpp>

#include <ccl/core/error.hpp>
#include <ccl/core/rng.hpp>
#include <ccl/data/bytes.hpp>
#include <ccl/io/io.hpp>
#include <ccl/nn/linear.hpp>
#include <ccl/optim/optim.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using ccl::Index;
using ccl::RowMatrix;
namespace fs = std::filesystem;
namespace io = ccl::io;
namespace optim = ccl::optim;

namespace {

// A fresh directory per test, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ccl-checkpoint-XXXXXX").string();
    REQUIRE(::mkdtemp(&pattern[0]) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::permissions(path, fs::perms::owner_all, ignored);
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path))
      names.push_back(entry.path().filename().string());
    return names;
  }
};

std::vector<std::uint8_t> file_bytes(const std::string& path) { return io::read_file(path); }

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

template <class Scalar>
bool bitwise_equal(const RowMatrix<Scalar>& a, const RowMatrix<Scalar>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(Scalar) * std::size_t(a.size())) == 0);
}

// A tiny training run: y = x Wᵀ + b fitted to a fixed linear target with minibatches sampled by
// the Rng, the lr scheduled per epoch. Everything a resume must restore is in here.
template <class Optimizer, class Policy>
struct Run {
  ccl::Rng rng;
  ccl::nn::Linear<float> net;
  Optimizer optimizer;
  optim::Scheduler<Policy> schedule;
  std::int64_t step = 0;
  io::Checkpoint checkpoint;

  Run(std::uint64_t seed, const typename Optimizer::Options& options, Policy policy)
      : rng(seed),
        net(4, 3, rng),
        optimizer(make_optimizer(net, options)),
        schedule(optimizer, 0, std::move(policy)) {
    checkpoint.add_module("net", net)
        .add_optimizer("optimizer", optimizer)
        .add_scheduler("schedule", schedule)
        .add_rng("rng", rng)
        .add_counter("step", step);
  }
  // The checkpoint and the scheduler refer to the members: a Run stays where it was built.
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  static Optimizer make_optimizer(ccl::nn::Linear<float>& net,
                                  const typename Optimizer::Options& o) {
    Optimizer opt;
    opt.add_group(o).add("net", net);
    return opt;
  }

  void train(int steps, int steps_per_epoch = 3) {
    for (int s = 0; s < steps; ++s) {
      RowMatrix<float> x(5, 4);
      rng.fill_normal(x);
      RowMatrix<float> target(5, 3);
      for (Index i = 0; i < 5; ++i)
        for (Index j = 0; j < 3; ++j) target(i, j) = x(i, 0) - 2.0f * x(i, j) + 0.5f * float(j);
      optimizer.zero_grad();
      const RowMatrix<float> y = net.forward(ccl::view(x));
      const RowMatrix<float> grad = (y - target) * (2.0f / float(y.size()));
      net.backward(ccl::view(grad));
      optimizer.step();
      ++step;
      if (step % steps_per_epoch == 0) schedule.step();
    }
  }
};

using SgdRun = Run<optim::Sgd<float>, optim::MultiStep>;

SgdRun make_sgd_run(std::uint64_t seed) {
  return SgdRun(seed, optim::SgdOptions{0.05, 0.9, 0.1, 5e-4, false},
                optim::MultiStep{{2, 4}, 0.5});
}

}  // namespace

TEST_CASE("crc32 is zlib's CRC-32", "[io][crc]") {
  const char* check = "123456789";
  CHECK(io::crc32(check, 9) == 0xCBF43926u);  // the catalogued check value of CRC-32/ISO-HDLC
  CHECK(io::crc32(check + 4, 5, io::crc32(check, 4)) == 0xCBF43926u);
  CHECK(io::crc32(check, 0) == 0u);
  // Every length and alignment against a bit-at-a-time CRC (no tables), so the 8-byte fold and
  // the tail loop are both exercised.
  std::vector<std::uint8_t> data(300);
  ccl::Rng rng(12);
  for (auto& byte : data) byte = std::uint8_t(rng.next_u64());
  auto bitwise_crc = [](const std::uint8_t* p, std::size_t n) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) {
      c ^= p[i];
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
  };
  for (std::size_t offset = 0; offset < 9; ++offset) {
    for (std::size_t length = 0; length + offset <= data.size(); length += 7) {
      REQUIRE(io::crc32(data.data() + offset, length) == bitwise_crc(data.data() + offset, length));
    }
  }
}

TEST_CASE("The file layout is the documented one", "[io][checkpoint][format]") {
  ccl::nn::Linear<float> net(2, 1, /*bias=*/false);
  const RowMatrix<float> w = (RowMatrix<float>(1, 2) << 1.5f, -2.0f).finished();
  net.set_weight(ccl::view(w));
  std::int64_t epoch = 7;
  io::Checkpoint checkpoint;
  checkpoint.add_module("net", net).add_counter("epoch", epoch);
  const std::vector<std::uint8_t> b = checkpoint.to_bytes();

  const std::vector<std::uint8_t> magic{0x89, 'C', 'C', 'L', '\r', '\n', 0x1A, '\n'};
  REQUIRE(std::vector<std::uint8_t>(b.begin(), b.begin() + 8) == magic);
  auto u32_at = [&](std::size_t o) {
    return std::uint32_t(b[o]) | std::uint32_t(b[o + 1]) << 8 | std::uint32_t(b[o + 2]) << 16 |
           std::uint32_t(b[o + 3]) << 24;
  };
  auto u64_at = [&](std::size_t o) {
    return std::uint64_t(u32_at(o)) | std::uint64_t(u32_at(o + 4)) << 32;
  };
  CHECK(u32_at(8) == 1u);              // format version
  CHECK(u32_at(12) == 2u);             // sections
  CHECK(u64_at(16) == b.size() - 28);  // payload size
  CHECK(u32_at(b.size() - 4) == io::crc32(b.data(), b.size() - 4));
  // Section 1 at 24: kind 1 (module), name "net", body size, then the body:
  CHECK(u32_at(24) == 1u);
  CHECK(u32_at(28) == 3u);
  CHECK(std::string(b.begin() + 32, b.begin() + 35) == "net");
  const std::uint64_t body = u64_at(35);
  // parameter count (8) + name "weight" (4 + 6) + dtype (1) + rows, cols (16) + 2 floats (8)
  // + buffer count (8)
  CHECK(body == 8 + 10 + 1 + 16 + 8 + 8);
  CHECK(u64_at(43) == 1u);  // one parameter
  CHECK(u32_at(51) == 6u);
  CHECK(std::string(b.begin() + 55, b.begin() + 61) == "weight");
  CHECK(b[61] == 1);  // float32
  CHECK(u64_at(62) == 1u);
  CHECK(u64_at(70) == 2u);
  CHECK(u32_at(78) == 0x3FC00000u);  // 1.5f, little-endian IEEE-754
  CHECK(u32_at(82) == 0xC0000000u);  // -2.0f
  CHECK(u64_at(86) == 0u);           // no buffers
  // Section 2 at 94: kind 5 (counter), "epoch", body 8 bytes: 7.
  CHECK(u32_at(94) == 5u);
  CHECK(u32_at(98) == 5u);
  CHECK(std::string(b.begin() + 102, b.begin() + 107) == "epoch");
  CHECK(u64_at(107) == 8u);
  CHECK(u64_at(115) == 7u);
  CHECK(b.size() == 123 + 4);
}

TEST_CASE("A checkpoint round trip restores every bit", "[io][checkpoint]") {
  TempDir dir;
  SgdRun a = make_sgd_run(1);
  a.train(7);
  a.checkpoint.save(dir.file("a.ckpt"));
  CHECK(dir.entries() == std::vector<std::string>{"a.ckpt"});  // no temporary left behind

  SgdRun b = make_sgd_run(99);  // different initial weights, no state yet
  b.net.weight().grad.setConstant(3.0f);
  b.checkpoint.load(dir.file("a.ckpt"));

  CHECK(bitwise_equal(a.net.weight().value, b.net.weight().value));
  CHECK(bitwise_equal(a.net.bias().value, b.net.bias().value));
  CHECK(b.net.weight().grad.isZero(0));  // gradients are not saved: zero after a load
  const auto& sa = a.optimizer.groups()[0].entries[0].state;
  const auto& sb = b.optimizer.groups()[0].entries[0].state;
  CHECK(sb.step == 7);
  CHECK(bitwise_equal(sa.buffers[0], sb.buffers[0]));
  CHECK(b.optimizer.lr(0) == a.optimizer.lr(0));
  CHECK(b.optimizer.lr(0) == 0.05 * 0.5);  // two epochs done, past milestone 2
  CHECK(b.schedule.epoch() == 2);
  CHECK(b.step == 7);
  CHECK(b.rng.next_u64() == a.rng.next_u64());
  CHECK(b.rng.normal() == a.rng.normal());
  // Saving what was loaded gives the same bytes.
  CHECK(b.checkpoint.to_bytes() == a.checkpoint.to_bytes());
}

TEST_CASE("Resuming from a checkpoint continues bit-identically", "[io][checkpoint][resume]") {
  TempDir dir;
  SECTION("SGD with momentum, dampening, weight decay and a MultiStep schedule") {
    SgdRun straight = make_sgd_run(5);
    straight.train(12);

    SgdRun first = make_sgd_run(5);
    first.train(5);  // stops mid-epoch, after an odd number of steps
    first.checkpoint.save(dir.file("half.ckpt"));
    SgdRun resumed = make_sgd_run(1234);  // a new process: other weights, no optimiser state
    resumed.checkpoint.load(dir.file("half.ckpt"));
    resumed.train(7);

    CHECK(bitwise_equal(straight.net.weight().value, resumed.net.weight().value));
    CHECK(bitwise_equal(straight.net.bias().value, resumed.net.bias().value));
    CHECK(straight.checkpoint.to_bytes() == resumed.checkpoint.to_bytes());
    // And the run did learn something, so the comparison is not between two frozen models.
    CHECK(!bitwise_equal(first.net.weight().value, straight.net.weight().value));
  }
  SECTION("Adam with a cosine schedule") {
    using AdamRun = Run<optim::Adam<float>, optim::Cosine>;
    const optim::AdamOptions options{0.01, 0.9, 0.999, 1e-8, 1e-3, true};
    AdamRun straight(8, options, optim::Cosine{4, 1e-4});
    straight.train(10, 2);
    AdamRun first(8, options, optim::Cosine{4, 1e-4});
    first.train(4, 2);
    first.checkpoint.save(dir.file("adam.ckpt"));
    AdamRun resumed(77, options, optim::Cosine{4, 1e-4});
    resumed.checkpoint.load(dir.file("adam.ckpt"));
    resumed.train(6, 2);
    CHECK(straight.checkpoint.to_bytes() == resumed.checkpoint.to_bytes());
  }
}

TEST_CASE("Truncated, corrupted and foreign files are refused; nothing changes",
          "[io][checkpoint][errors]") {
  TempDir dir;
  SgdRun source = make_sgd_run(2);
  source.train(4);
  const std::vector<std::uint8_t> good = source.checkpoint.to_bytes();

  SgdRun live = make_sgd_run(3);
  live.train(2);
  live.net.weight().grad.setConstant(0.25f);
  const std::vector<std::uint8_t> before = live.checkpoint.to_bytes();
  auto require_untouched = [&] {
    REQUIRE(live.checkpoint.to_bytes() == before);
    REQUIRE((live.net.weight().grad.array() == 0.25f).all());
  };
  const std::string path = dir.file("bad.ckpt");

  SECTION("truncated at many offsets") {
    for (std::size_t keep :
         {std::size_t(0), std::size_t(1), std::size_t(7), std::size_t(8), std::size_t(23),
          std::size_t(24), std::size_t(40), good.size() / 2, good.size() - 5, good.size() - 1}) {
      CAPTURE(keep);
      write_bytes(path,
                  std::vector<std::uint8_t>(good.begin(), good.begin() + std::ptrdiff_t(keep)));
      const std::string expected = keep < 8 ? "too short to be a ccl checkpoint" : "is truncated";
      REQUIRE_THROWS_WITH(live.checkpoint.load(path), Catch::Contains(expected));
      require_untouched();
    }
  }
  SECTION("trailing bytes") {
    std::vector<std::uint8_t> longer = good;
    longer.push_back(0);
    write_bytes(path, longer);
    REQUIRE_THROWS_WITH(live.checkpoint.load(path), Catch::Contains("unexpected trailing bytes"));
    require_untouched();
  }
  SECTION("one flipped byte anywhere") {
    for (std::size_t at = 0; at < good.size(); at += 37) {
      CAPTURE(at);
      std::vector<std::uint8_t> bad = good;
      bad[at] ^= 0x10;
      write_bytes(path, bad);
      REQUIRE_THROWS_AS(live.checkpoint.load(path), ccl::error);
      require_untouched();
    }
    std::vector<std::uint8_t> bad = good;
    bad[good.size() / 2] ^= 0x01;  // inside a tensor: only the checksum can tell
    write_bytes(path, bad);
    REQUIRE_THROWS_WITH(live.checkpoint.load(path),
                        Catch::Contains("is corrupt: its CRC-32 is 0x"));
    require_untouched();
  }
  SECTION("wrong magic, not a checkpoint at all") {
    std::vector<std::uint8_t> bad = good;
    bad[1] = 'X';
    write_bytes(path, bad);
    REQUIRE_THROWS_WITH(live.checkpoint.load(path),
                        Catch::Contains("not a ccl checkpoint (wrong magic"));
    const std::string text = "this is a text file, certainly not a checkpoint\n";
    write_bytes(path, std::vector<std::uint8_t>(text.begin(), text.end()));
    REQUIRE_THROWS_WITH(live.checkpoint.load(path), Catch::Contains("not a ccl checkpoint"));
    require_untouched();
  }
  SECTION("a newer format version") {
    std::vector<std::uint8_t> bad = good;
    bad[8] = 2;
    write_bytes(path, bad);
    REQUIRE_THROWS_WITH(
        live.checkpoint.load(path),
        Catch::Contains("has format version 2; this version of ccl reads format version 1"));
    require_untouched();
  }
  SECTION("a missing file") {
    REQUIRE_THROWS_WITH(
        live.checkpoint.load(dir.file("nope.ckpt")),
        Catch::Contains("load_checkpoint: cannot open") && Catch::Contains("nope.ckpt"));
    require_untouched();
  }
}

namespace {

// A module whose parameter names and shapes are chosen by the test.
template <class Scalar = double>
struct Custom {
  std::vector<ccl::Parameter<Scalar>> parameters;
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    for (auto& p : parameters) visit(p);
  }
};

// With non-trainable buffers, like BatchNorm's running statistics.
struct WithBuffers {
  ccl::Parameter<float> weight{"weight", 2, 2};
  std::vector<std::pair<std::string, RowMatrix<float>>> buffers;
  template <class Visitor>
  void for_each_parameter(Visitor&& visit) {
    visit(weight);
  }
  template <class Visitor>
  void for_each_buffer(Visitor&& visit) {
    for (auto& [name, value] : buffers) visit(name, value);
  }
};

}  // namespace

TEST_CASE("A checkpoint from another architecture is refused, naming the difference",
          "[io][checkpoint][errors]") {
  ccl::Rng rng(4);
  Custom<> saved{
      {ccl::Parameter<double>("conv.weight", 4, 3), ccl::Parameter<double>("fc.bias", 1, 5)}};
  rng.fill_normal(saved.parameters[0].value);
  io::Checkpoint writer;
  writer.add_module("student", saved);
  const auto bytes = writer.to_bytes();

  auto expect_refused = [&](Custom<>& live, const std::string& message) {
    io::Checkpoint reader;
    reader.add_module("student", live);
    const auto before = reader.to_bytes();
    REQUIRE_THROWS_WITH(reader.from_bytes(bytes, "ck"), Catch::Contains(message));
    REQUIRE(reader.to_bytes() == before);
  };
  Custom<> other_shape{
      {ccl::Parameter<double>("conv.weight", 4, 3), ccl::Parameter<double>("fc.bias", 1, 6)}};
  expect_refused(other_shape,
                 "load_checkpoint: 'ck', module 'student': parameter 'fc.bias' has shape [1, 5] in "
                 "the checkpoint but [1, 6] in the live object");
  Custom<> renamed{
      {ccl::Parameter<double>("conv.weight", 4, 3), ccl::Parameter<double>("fc.b", 1, 5)}};
  expect_refused(renamed,
                 "parameter 'fc.b' (shape [1, 5]) of the live model is not in the checkpoint");
  Custom<> fewer{{ccl::Parameter<double>("conv.weight", 4, 3)}};
  expect_refused(fewer,
                 "the checkpoint has parameter 'fc.bias' (shape [1, 5]) that the live model "
                 "does not have");

  // Element type: a float model cannot silently load double weights.
  Custom<float> as_float{
      {ccl::Parameter<float>("conv.weight", 4, 3), ccl::Parameter<float>("fc.bias", 1, 5)}};
  io::Checkpoint float_reader;
  float_reader.add_module("student", as_float);
  REQUIRE_THROWS_WITH(
      float_reader.from_bytes(bytes, "ck"),
      Catch::Contains("is float64 in the checkpoint but float32 in the live object"));

  // Section names and kinds.
  Custom<> same = saved;
  io::Checkpoint wrong_name;
  wrong_name.add_module("teacher", same);
  REQUIRE_THROWS_WITH(wrong_name.from_bytes(bytes, "ck"),
                      Catch::Contains("'ck' has no module section 'teacher'"));
  std::int64_t counter = 0;
  io::Checkpoint wrong_kind;
  wrong_kind.add_counter("student", counter);
  REQUIRE_THROWS_WITH(wrong_kind.from_bytes(bytes, "ck"),
                      Catch::Contains("section 'student' holds a module, not a counter"));
  io::Checkpoint nothing;
  REQUIRE_THROWS_WITH(nothing.from_bytes(bytes, "ck"),
                      Catch::Contains("has a module section 'student' that nothing is bound to"));
  nothing.allow_extra_sections(true);
  REQUIRE_NOTHROW(nothing.from_bytes(bytes, "ck"));
}

TEST_CASE("A module with two parameters of one name cannot be saved", "[io][checkpoint][errors]") {
  Custom<> twice{{ccl::Parameter<double>("weight", 1, 1), ccl::Parameter<double>("weight", 2, 1)}};
  io::Checkpoint checkpoint;
  checkpoint.add_module("m", twice);
  REQUIRE_THROWS_WITH(checkpoint.to_bytes(),
                      Catch::Contains("the module has two parameters named 'weight'"));
}

TEST_CASE("State not created yet (before the first step) is restored as such", "[io][checkpoint]") {
  SgdRun fresh = make_sgd_run(10);
  const auto bytes = fresh.checkpoint.to_bytes();  // no step taken: empty momentum buffers
  SgdRun trained = make_sgd_run(11);
  trained.train(2);
  REQUIRE(trained.optimizer.groups()[0].entries[0].state.buffers[0].size() > 0);
  trained.checkpoint.from_bytes(bytes, "fresh");
  const auto& state = trained.optimizer.groups()[0].entries[0].state;
  CHECK(state.step == 0);
  CHECK(state.buffers[0].size() == 0);
  CHECK(trained.checkpoint.to_bytes() == bytes);
  // and both continue identically
  fresh.train(3);
  trained.train(3);
  CHECK(trained.checkpoint.to_bytes() == fresh.checkpoint.to_bytes());
}

TEST_CASE("Module buffers (running statistics) are saved and checked", "[io][checkpoint]") {
  WithBuffers saved;
  saved.weight.value << 1, 2, 3, 4;
  saved.buffers = {{"bn.running_mean", RowMatrix<float>::Constant(1, 3, 0.125f)},
                   {"bn.running_var", RowMatrix<float>::Constant(1, 3, 1.5f)}};
  io::Checkpoint writer;
  writer.add_module("net", saved);
  const auto bytes = writer.to_bytes();

  WithBuffers live;
  live.buffers = {{"bn.running_mean", RowMatrix<float>::Zero(1, 3)},
                  {"bn.running_var", RowMatrix<float>::Ones(1, 3)}};
  io::Checkpoint reader;
  reader.add_module("net", live);
  reader.from_bytes(bytes, "ck");
  CHECK(bitwise_equal(live.buffers[0].second, saved.buffers[0].second));
  CHECK(bitwise_equal(live.buffers[1].second, saved.buffers[1].second));
  CHECK(bitwise_equal(live.weight.value, saved.weight.value));

  WithBuffers other;
  other.buffers = {{"bn.running_mean", RowMatrix<float>::Zero(1, 4)},
                   {"bn.running_var", RowMatrix<float>::Ones(1, 4)}};
  io::Checkpoint other_reader;
  other_reader.add_module("net", other);
  REQUIRE_THROWS_WITH(other_reader.from_bytes(bytes, "ck"),
                      Catch::Contains("buffer 'bn.running_mean' has shape [1, 3] in the "
                                      "checkpoint but [1, 4] in the live object"));
  CHECK(other.buffers[1].second.isOnes(0));

  Custom<float> no_buffers{{ccl::Parameter<float>("weight", 2, 2)}};
  io::Checkpoint plain_reader;
  plain_reader.add_module("net", no_buffers);
  REQUIRE_THROWS_WITH(plain_reader.from_bytes(bytes, "ck"),
                      Catch::Contains("has buffer 'bn.running_mean' (shape [1, 3]) that the live "
                                      "model does not have"));
  CHECK(no_buffers.parameters[0].value.isZero(0));
}

TEST_CASE("Optimiser, schedule and counter mismatches are refused", "[io][checkpoint][errors]") {
  SgdRun source = make_sgd_run(6);
  source.train(4);
  const auto bytes = source.checkpoint.to_bytes();

  SECTION("Adam state into an SGD optimiser") {
    ccl::Rng rng(1);
    ccl::nn::Linear<float> net(4, 3, rng);
    optim::Adam<float> adam;
    adam.add_group(optim::AdamOptions{}).add("net", net);
    io::Checkpoint reader;
    reader.add_optimizer("optimizer", adam).allow_extra_sections(true);
    REQUIRE_THROWS_WITH(reader.from_bytes(bytes, "ck"),
                        Catch::Contains("holds a 'sgd' optimiser but the live one is 'adam'"));
  }
  SECTION("a different grouping") {
    ccl::Rng rng(1);
    ccl::nn::Linear<float> net(4, 3, rng);
    optim::Sgd<float> sgd;
    sgd.add_group(optim::SgdOptions{}).add_parameter("net.weight", net.weight());
    sgd.add_group(optim::SgdOptions{}).add_parameter("net.bias", net.bias());
    io::Checkpoint reader;
    reader.add_optimizer("optimizer", sgd).allow_extra_sections(true);
    REQUIRE_THROWS_WITH(reader.from_bytes(bytes, "ck"),
                        Catch::Contains("2 parameter groups but the live optimiser has 1") ||
                            Catch::Contains("1 parameter groups but the live optimiser has 2"));
  }
  SECTION("other parameter keys") {
    ccl::Rng rng(1);
    ccl::nn::Linear<float> net(4, 3, rng);
    optim::Sgd<float> sgd;
    sgd.add_group(optim::SgdOptions{}).add("student", net);
    io::Checkpoint reader;
    reader.add_optimizer("optimizer", sgd).allow_extra_sections(true);
    const auto before = reader.to_bytes();
    REQUIRE_THROWS_WITH(
        reader.from_bytes(bytes, "ck"),
        Catch::Contains("state for parameter 'net.weight' that is not in the live"));
    REQUIRE(reader.to_bytes() == before);
  }
  SECTION("a schedule with other milestones") {
    SgdRun other(6, optim::SgdOptions{0.05, 0.9, 0.1, 5e-4, false}, optim::MultiStep{{3}, 0.5});
    const auto before = other.checkpoint.to_bytes();
    REQUIRE_THROWS_WITH(other.checkpoint.from_bytes(bytes, "ck"),
                        Catch::Contains("multistep schedule has settings [2, 4, 0.5] but the live "
                                        "one has [3, 0.5]"));
    REQUIRE(other.checkpoint.to_bytes() == before);
  }
  SECTION("a counter too large for its type") {
    std::int64_t big = std::int64_t(1) << 40;
    io::Checkpoint writer;
    writer.add_counter("n", big);
    std::int32_t small = 0;
    io::Checkpoint reader;
    reader.add_counter("n", small);
    REQUIRE_THROWS_WITH(reader.from_bytes(writer.to_bytes(), "ck"),
                        Catch::Contains("does not fit the live counter's type"));
    CHECK(small == 0);
  }
  SECTION("duplicate binding names") {
    std::int64_t a = 0;
    io::Checkpoint checkpoint;
    checkpoint.add_counter("x", a);
    REQUIRE_THROWS_WITH(checkpoint.add_counter("x", a), Catch::Contains("'x' is already bound"));
  }
}

TEST_CASE("Real values round-trip exactly; NaN and a kind mismatch are refused",
          "[io][checkpoint][value]") {
  for (double saved : {0.8125, -1e-300, 1.0 / 3.0, -std::numeric_limits<double>::infinity()}) {
    double value = saved, restored = 0;
    io::Checkpoint writer, reader;
    writer.add_value("best", value);
    reader.add_value("best", restored);
    reader.from_bytes(writer.to_bytes(), "ck");
    CHECK(std::memcmp(&restored, &saved, sizeof saved) == 0);
  }
  double nan = std::numeric_limits<double>::quiet_NaN(), restored = 7;
  io::Checkpoint writer, reader;
  writer.add_value("best", nan);
  reader.add_value("best", restored);
  REQUIRE_THROWS_WITH(reader.from_bytes(writer.to_bytes(), "ck"),
                      Catch::Contains("value 'best': the saved value is NaN"));
  CHECK(restored == 7);
  std::int64_t counter = 0;
  io::Checkpoint as_counter;
  as_counter.add_counter("best", counter);
  REQUIRE_THROWS_WITH(as_counter.from_bytes(writer.to_bytes(), "ck"),
                      Catch::Contains("section 'best' holds a value, not a counter"));
}

TEST_CASE("A failed save leaves the previous checkpoint in place", "[io][checkpoint][atomic]") {
  TempDir dir;
  const std::string path = dir.file("last.ckpt");
  SgdRun run = make_sgd_run(9);
  run.train(3);
  run.checkpoint.save(path);
  const std::vector<std::uint8_t> saved = file_bytes(path);
  run.train(3);  // the state moves on; the next save must either fully happen or not at all

  SECTION("the write fails half-way (file size limit, works even as root)") {
    struct rlimit old_limit {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    struct rlimit small = old_limit;
    small.rlim_cur = 64;  // far smaller than the checkpoint
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    bool threw = false;
    std::string message;
    try {
      run.checkpoint.save(path);
    } catch (const ccl::error& e) {
      threw = true;
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    std::signal(SIGXFSZ, old_handler);
    CHECK(threw);
    CHECK_THAT(message,
               Catch::Contains("save_checkpoint: writing") && Catch::Contains("last.ckpt"));
    CHECK(file_bytes(path) == saved);
    CHECK(dir.entries() == std::vector<std::string>{"last.ckpt"});  // the temporary is gone
  }
  SECTION("the directory does not exist") {
    REQUIRE_THROWS_WITH(run.checkpoint.save(dir.file("missing/last.ckpt")),
                        Catch::Contains("cannot create a temporary file next to"));
    CHECK(file_bytes(path) == saved);
  }
  SECTION("the directory is not writable") {
    if (::geteuid() == 0) {
      WARN(
          "running as root, which writes into read-only directories; covered by the "
          "file-size-limit section instead");
    } else {
      fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
      REQUIRE_THROWS_WITH(run.checkpoint.save(path), Catch::Contains("Permission denied"));
      fs::permissions(dir.path, fs::perms::owner_all);
      CHECK(file_bytes(path) == saved);
    }
  }
  // And a successful save does replace it.
  run.checkpoint.save(path);
  CHECK(file_bytes(path) == run.checkpoint.to_bytes());
}

TEST_CASE("Saves killed at any moment leave the old or the new checkpoint and no leftovers",
          "[io][checkpoint][atomic][kill]") {
  // An 8 MB checkpoint, so that a kill often lands inside the write.
  TempDir dir;
  const std::string path = dir.file("last.ckpt");
  ccl::Rng rng(5);
  ccl::nn::Linear<float> net(1024, 2048, rng);
  io::Checkpoint checkpoint;
  checkpoint.add_module("net", net);
  std::vector<std::vector<std::uint8_t>> versions;
  for (int v = 0; v < 3; ++v) {
    versions.push_back(checkpoint.to_bytes());
    net.weight().value(0, 0) += 1.0f;  // each version differs
  }
  io::write_file_atomically(path, versions[0], "save_checkpoint");
  const auto temporaries = [&] {
    int count = 0;
    for (const auto& name : dir.entries()) count += name.rfind("last.ckpt.tmp-", 0) == 0;
    return count;
  };
  // How long one save takes here: the kills are spread over 1.5 times that.
  const auto t0 = std::chrono::steady_clock::now();
  io::write_file_atomically(path, versions[1], "save_checkpoint");
  const auto save_us = std::max<long>(
      50, long(std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()));
  std::vector<std::uint8_t> current = versions[1];
  int interrupted = 0;
  for (int round = 0; round < 30; ++round) {
    const auto& next = versions[std::size_t(round % 3)];
    const ::pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // the saving process: only async-signal-safe work plus the save itself
      try {
        io::write_file_atomically(path, next, "save_checkpoint");
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    ::usleep(::useconds_t(rng.index(std::uint64_t(save_us * 3 / 2))));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    if (WIFEXITED(status)) REQUIRE(WEXITSTATUS(status) == 0);
    const auto now = file_bytes(path);
    CAPTURE(round);
    // Always a whole checkpoint, the previous one or the new one, and loadable.
    REQUIRE((now == current || now == next));
    interrupted += now == current && now != next;
    current = now;
    REQUIRE_NOTHROW(checkpoint.load(path));
    // The killed save's temporary may remain, but each save removes the earlier ones: never more
    // than one.
    REQUIRE(temporaries() <= 1);
  }
  INFO(interrupted << " of 30 saves were killed before their rename");
  // Temporaries of live writers and of other hosts (a shared file system) are never touched.
  const std::string live = path + ".tmp-" + io::detail::temporary_host_tag() + "1-AbCdEf";
  const std::string other_host = path + ".tmp-otherhost.example-12345-AbCdEf";
  write_bytes(live, {1, 2, 3});
  write_bytes(other_host, {1, 2, 3});
  // A temporary of a process that is gone: created by a child that exits at once.
  const ::pid_t gone = ::fork();
  REQUIRE(gone >= 0);
  if (gone == 0) ::_exit(0);
  REQUIRE(::waitpid(gone, nullptr, 0) == gone);
  const std::string stale =
      path + ".tmp-" + io::detail::temporary_host_tag() + std::to_string(gone) + "-AbCdEf";
  write_bytes(stale, {1, 2, 3});
  checkpoint.save(path);
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(live));
  CHECK(fs::exists(other_host));
  fs::remove(live);
  fs::remove(other_host);
  CHECK(dir.entries() == std::vector<std::string>{"last.ckpt"});
  CHECK(file_bytes(path) == checkpoint.to_bytes());
}

TEST_CASE("data::write_file_atomically leaves nothing behind when the disk is full",
          "[io][data][atomic]") {
  TempDir dir;
  const std::string path = dir.file("cache/bench.ccl");  // the parent directory is created
  const std::vector<std::uint8_t> old_bytes(100, 7), new_bytes(100000, 9);
  ccl::data::write_file_atomically(path, old_bytes);
  struct rlimit old_limit {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;  // a "full disk" after 4 KB
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    ccl::data::write_file_atomically(path, new_bytes);
  } catch (const ccl::error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  CHECK_THAT(message, Catch::Contains("writing") && Catch::Contains("bench.ccl"));
  CHECK(file_bytes(path) == old_bytes);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path / "cache"))
    names.push_back(entry.path().filename().string());
  CHECK(names == std::vector<std::string>{"bench.ccl"});
}

TEST_CASE("A scheduler driving several groups saves every base lr; one-group sections are "
          "unchanged",
          "[io][checkpoint][schedule]") {
  ccl::Rng rng(3);
  ccl::nn::Linear<float> encoder(2, 2, rng), head(2, 1, rng);
  auto make = [&](optim::Sgd<float>& sgd) {
    sgd.add_group(optim::SgdOptions{0.01}).add("encoder", encoder);
    sgd.add_group(optim::SgdOptions{0.1}).add("head", head);
  };
  optim::Sgd<float> sgd;
  make(sgd);
  optim::Scheduler<optim::MultiStep> schedule(sgd, {0, 1}, optim::MultiStep{{1, 3}, 0.5});
  schedule.step();
  schedule.step();
  io::Checkpoint writer;
  writer.add_scheduler("schedule", schedule);
  const auto bytes = writer.to_bytes();

  // Restored into a scheduler built on other base lrs: the saved ones and the epoch come back.
  optim::Sgd<float> other;
  other.add_group(optim::SgdOptions{0.5}).add("encoder", encoder);
  other.add_group(optim::SgdOptions{0.7}).add("head", head);
  optim::Scheduler<optim::MultiStep> resumed(other, {0, 1}, optim::MultiStep{{1, 3}, 0.5});
  io::Checkpoint reader;
  reader.add_scheduler("schedule", resumed);
  reader.from_bytes(bytes, "ck");
  CHECK(resumed.base_lrs() == std::vector<double>{0.01, 0.1});
  CHECK(resumed.epoch() == 2);

  // A one-group scheduler cannot take a two-group section, and the reverse.
  optim::Scheduler<optim::MultiStep> single(other, 0, optim::MultiStep{{1, 3}, 0.5});
  io::Checkpoint single_reader;
  single_reader.add_scheduler("schedule", single);
  REQUIRE_THROWS_WITH(single_reader.from_bytes(bytes, "ck"),
                      Catch::Contains("drives 2 groups but the live one drives 1"));
  io::Checkpoint single_writer;
  single_writer.add_scheduler("schedule", single);
  REQUIRE_THROWS_WITH(reader.from_bytes(single_writer.to_bytes(), "ck"),
                      Catch::Contains("drives 1 groups but the live one drives 2"));
  // The one-group section is the documented layout: kind, settings, base lr, epoch, nothing more.
  CHECK(single_writer.to_bytes().size() + 8 + 8 == bytes.size());
}
