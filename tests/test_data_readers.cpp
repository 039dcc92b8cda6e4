// Readers of ccl/data/: IDX (plain and gzip), .npy, Fashion-MNIST pairing, and the official CCL
// teacher-feature layout. Good fixtures are checked value by value against the closed formulas
// of tests/data/make_fixtures.py (an independent writer); every corruption must raise ccl::error
// naming the file and the problem.

#include <ccl/data/fashion_mnist.hpp>
#include <ccl/data/group_split.hpp>
#include <ccl/data/gzip.hpp>
#include <ccl/data/idx.hpp>
#include <ccl/data/npy.hpp>
#include <ccl/data/teacher_features.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

fs::path fixture(const std::string& name) { return fs::path(__FILE__).parent_path() / "data" / name; }

float npy_value(long r, long c) { return float(((r * 512 + c) % 17) * 0.25 - 1); }

// A fresh empty directory under the system temp directory, removed at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("ccl-test-data-" + tag + "-" + std::to_string(++counter) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this) % 100000));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write_vector(const fs::path& path, ccl::Index n, float value = 0.5f) {
  std::vector<float> values(std::size_t(n), value);
  fs::create_directories(path.parent_path());
  ccl::data::write_npy(path, {n}, values.data());
}

}  // namespace

TEST_CASE("IDX: good u8 images and labels decode to the fixture's values", "[data][idx]") {
  const auto images = ccl::data::read_idx(fixture("idx/images.idx"));
  REQUIRE(images.type == ccl::data::IdxType::u8);
  REQUIRE(images.dims == std::vector<ccl::Index>{3, 2, 4});
  REQUIRE(images.data.size() == 24);
  for (int i = 0; i < 24; ++i) CHECK(int(images.data[std::size_t(i)]) == (7 * i + 3) % 256);

  const auto set = ccl::data::load_idx_images(fixture("idx/images.idx"),
                                              fixture("idx/labels.idx"), 10);
  CHECK(set.count == 3);
  CHECK(set.height == 2);
  CHECK(set.width == 4);
  CHECK(set.labels == std::vector<std::int32_t>{2, 0, 1});
  CHECK(int(set.image(2)[0]) == (7 * 16 + 3) % 256);
}

TEST_CASE("IDX: every corruption is an error naming the file and the problem", "[data][idx]") {
  using ccl::data::read_idx;
  CHECK_THROWS_WITH(read_idx(fixture("idx/bad-magic.idx")),
                    Contains("bad-magic.idx") && Contains("wrong IDX magic"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/bad-type.idx")), Contains("unknown element type"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/truncated.idx")),
                    Contains("truncated.idx") && Contains("truncated IDX data"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/trailing.idx")),
                    Contains("3 bytes of trailing garbage"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/wrong-dims.idx")),
                    Contains("wrong-dims.idx") && Contains("[3, 2, 5]") && Contains("needs 30 bytes"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/zero-dim.idx")), Contains("dimension 1 is 0"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/no-such-file.idx")), Contains("cannot open"));
  // A header whose sizes exceed the file cannot overflow or allocate: rejected up front.
  ccl::data::Bytes huge = {0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                           0xFF, 0xFF, 1, 2, 3};
  CHECK_THROWS_WITH(ccl::data::parse_idx(huge, "huge"), Contains("wrong dimensions"));
  CHECK_THROWS_WITH(ccl::data::parse_idx({0, 0}, "tiny"), Contains("only 2 bytes"));
  // Rank 0 and a header cut inside the dimensions.
  CHECK_THROWS_WITH(ccl::data::parse_idx({0, 0, 8, 0}, "rank0"), Contains("rank 0"));
  CHECK_THROWS_WITH(ccl::data::parse_idx({0, 0, 8, 2, 0, 0, 0, 1}, "cut"),
                    Contains("truncated IDX header"));
}

TEST_CASE("IDX pairs: counts, ranks and label range are checked", "[data][idx]") {
  using ccl::data::load_idx_images;
  CHECK_THROWS_WITH(load_idx_images(fixture("idx/images.idx"), fixture("idx/labels-too-many.idx"), 10),
                    Contains("has 3 images") && Contains("has 4 labels"));
  CHECK_THROWS_WITH(
      load_idx_images(fixture("idx/images.idx"), fixture("idx/labels-out-of-range.idx"), 10),
      Contains("label 10 of item 2 is outside [0, 10)"));
  CHECK_THROWS_WITH(load_idx_images(fixture("idx/labels.idx"), fixture("idx/labels.idx"), 10),
                    Contains("images must have rank 3"));
}

TEST_CASE("IDX gzip: decompressed when zlib is linked, corruption detected", "[data][idx][gzip]") {
  using ccl::data::read_idx;
  if (!ccl::data::gzip_supported()) {
    WARN("skipped: this test was built without zlib (ccl::data_extras not linked); checking "
         "that .gz input is rejected with a clear message instead");
    CHECK_THROWS_WITH(read_idx(fixture("idx/images.idx.gz")), Contains("needs zlib"));
    return;
  }
  const auto plain = read_idx(fixture("idx/images.idx"));
  const auto packed = read_idx(fixture("idx/images.idx.gz"));
  CHECK(packed.dims == plain.dims);
  CHECK(packed.data == plain.data);
  CHECK_THROWS_WITH(read_idx(fixture("idx/corrupt.idx.gz")),
                    Contains("corrupt.idx.gz") && Contains("corrupt gzip data"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/truncated.idx.gz")),
                    Contains("truncated gzip data"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/trailing.idx.gz")), Contains("trailing garbage"));
  CHECK_THROWS_WITH(read_idx(fixture("idx/not-gzip.idx.gz")), Contains("not a gzip file"));
  // Two concatenated members are one stream (what `cat a.gz b.gz` gives).
  auto bytes = ccl::data::read_file(fixture("idx/labels.idx.gz"));
  auto twice = bytes;
  twice.insert(twice.end(), bytes.begin(), bytes.end());
  CHECK(ccl::data::gunzip(twice, "twice").size() == 2 * ccl::data::read_file(fixture("idx/labels.idx")).size());
}

TEST_CASE("gzip: output is capped, and IDX inflates only what its header declares",
          "[data][idx][gzip][hostile]") {
  if (!ccl::data::gzip_supported()) {
    WARN("skipped: built without zlib");
    return;
  }
  using ccl::data::Bytes;
  using ccl::data::gunzip;
  using ccl::data::gzip_compress;
  // A decompression bomb: 64 MiB of zeros in ~64 KB. With a 1 MiB cap the error comes as soon
  // as the output passes the cap, not after inflating everything.
  const Bytes zeros(std::size_t(64) << 20, 0);
  const Bytes bomb = gzip_compress(zeros, 9);
  CHECK(bomb.size() < 100000);
  CHECK_THROWS_WITH(gunzip(bomb, "bomb.gz", std::size_t(1) << 20),
                    Contains("'bomb.gz'") && Contains("inflates to more than 1048576 bytes"));
  CHECK(gunzip(bomb, "bomb.gz", std::size_t(64) << 20).size() == zeros.size());  // exactly fits
  CHECK(gunzip(gzip_compress({}), "empty.gz").empty());

  TempDir dir("gzip-hostile");
  const auto write = [&](const std::string& name, const Bytes& bytes) {
    const auto path = dir.path / name;
    ccl::data::write_file_atomically(path, bytes);
    return path;
  };
  const Bytes plain = ccl::data::read_file(fixture("idx/images.idx"));
  // A header claiming 1e9 x 28 x 28 bytes: rejected before any inflation or allocation, since
  // deflate cannot expand a few hundred bytes that far.
  Bytes huge = plain;
  huge[4] = 0x3b, huge[5] = 0x9a, huge[6] = 0xca, huge[7] = 0x00;  // 1,000,000,000 items
  CHECK_THROWS_WITH(ccl::data::read_idx(write("huge.idx.gz", gzip_compress(huge))),
                    Contains("huge.idx.gz") && Contains("needs more bytes than"));
  // Data beyond the declared shape (here: 64 MiB of it) is an error after one extra byte.
  Bytes padded = plain;
  padded.insert(padded.end(), zeros.begin(), zeros.end());
  CHECK_THROWS_WITH(ccl::data::read_idx(write("padded.idx.gz", gzip_compress(padded, 9))),
                    Contains("trailing garbage after the IDX data"));
  // Too little data, and a valid file, for contrast.
  Bytes cut = plain;
  cut.resize(cut.size() - 1);
  CHECK_THROWS_WITH(ccl::data::read_idx(write("cut.idx.gz", gzip_compress(cut))),
                    Contains("truncated IDX data"));
  const auto good = ccl::data::read_idx(write("good.idx.gz", gzip_compress(plain)));
  CHECK(good.data == ccl::data::read_idx(fixture("idx/images.idx")).data);
  // A gzip member followed by garbage bytes.
  Bytes garbage = gzip_compress(plain);
  garbage.push_back(0x42);
  CHECK_THROWS_WITH(ccl::data::read_idx(write("garbage.idx.gz", garbage)),
                    Contains("trailing garbage after the gzip data"));
}

TEST_CASE(".npy: v1 and v2 float32, float64 converted", "[data][npy]") {
  const auto vector = ccl::data::read_npy(fixture("npy/vector-f4-v1.npy"));
  REQUIRE(vector.shape == std::vector<ccl::Index>{512});
  CHECK(vector.descr == "<f4");
  for (long c = 0; c < 512; ++c) CHECK(vector.values[std::size_t(c)] == npy_value(0, c));

  const auto matrix = ccl::data::read_npy(fixture("npy/matrix-f4-v2.npy"));
  REQUIRE(matrix.shape == std::vector<ccl::Index>{3, 512});
  for (long r = 0; r < 3; ++r)
    for (long c = 0; c < 512; ++c)
      CHECK(matrix.values[std::size_t(r * 512 + c)] == npy_value(r, c));

  const auto doubles = ccl::data::read_npy(fixture("npy/vector-f8.npy"));
  CHECK(doubles.descr == "<f8");
  for (long c = 0; c < 512; ++c) CHECK(doubles.values[std::size_t(c)] == npy_value(0, c));
}

TEST_CASE(".npy: our writer round-trips and matches NumPy's header layout", "[data][npy]") {
  const std::vector<float> values = {1.5f, -2.0f, 0.0f, 3.25f, 7.0f, -0.5f};
  const auto bytes = ccl::data::encode_npy({2, 3}, values.data());
  CHECK((bytes.size() - 6 * 4) % 64 == 0);  // header padded to 64 bytes as NumPy does
  const auto back = ccl::data::parse_npy(bytes, "memory");
  CHECK(back.shape == std::vector<ccl::Index>{2, 3});
  CHECK(back.values == values);
  // Byte-identical to the independent Python writer for the same array.
  const auto fixture_bytes = ccl::data::read_file(fixture("npy/vector-f4-v1.npy"));
  std::vector<float> formula(512);
  for (long c = 0; c < 512; ++c) formula[std::size_t(c)] = npy_value(0, c);
  CHECK(ccl::data::encode_npy({512}, formula.data()) == fixture_bytes);
}

TEST_CASE(".npy: wrong dtype, order, header, version and size are errors", "[data][npy]") {
  using ccl::data::read_npy;
  CHECK_THROWS_WITH(read_npy(fixture("npy/wrong-dtype.npy")),
                    Contains("wrong-dtype.npy") && Contains("unsupported dtype '<i4'"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/big-endian.npy")), Contains("unsupported dtype '>f4'"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/fortran.npy")), Contains("fortran_order is True"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/bad-version.npy")),
                    Contains("unsupported .npy format version 4.0"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/bad-magic.npy")), Contains("not a .npy file"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/truncated.npy")),
                    Contains("truncated.npy") && Contains("truncated .npy data") &&
                        Contains("needs 2048 bytes"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/trailing.npy")), Contains("4 bytes of trailing garbage"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/bad-header-key.npy")),
                    Contains("bad .npy header") && Contains("fortran_ordr"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/bad-header-shape.npy")),
                    Contains("bad .npy header"));
  CHECK_THROWS_WITH(read_npy(fixture("npy/truncated-header.npy")),
                    Contains("truncated") && Contains("the header"));
}

TEST_CASE("Teacher features: the official layout is listed, labelled and split", "[data][features]") {
  const ccl::data::TeacherFeatureFolder folder(fixture("ccl_layout"));
  // Sorted, case-sensitive: ApplyEyeMakeup < Archery < HandstandPushups.
  REQUIRE(folder.classes() == std::vector<std::string>{"ApplyEyeMakeup", "Archery", "HandstandPushups"});
  const auto& files = folder.files();
  REQUIRE(files.size() == 5);
  struct Expect { const char* name; int label, group, clip; ccl::data::Split split; };
  const Expect expected[] = {
      {"v_ApplyEyeMakeup_g07_c03.npy", 0, 7, 3, ccl::data::Split::test},
      {"v_ApplyEyeMakeup_g25_c01.npy", 0, 25, 1, ccl::data::Split::train},
      {"v_Archery_g01_c01.npy", 1, 1, 1, ccl::data::Split::test},
      {"v_Archery_g08_c02.npy", 1, 8, 2, ccl::data::Split::train},
      {"v_HandStandPushups_g10_c04.npy", 2, 10, 4, ccl::data::Split::train}};
  for (std::size_t i = 0; i < files.size(); ++i) {
    INFO(files[i].path.string());
    CHECK(files[i].path.filename() == expected[i].name);
    CHECK(files[i].label == expected[i].label);
    CHECK(files[i].group == expected[i].group);
    CHECK(files[i].clip == expected[i].clip);
    CHECK(files[i].split == expected[i].split);
  }
  CHECK(folder.files(ccl::data::Split::test).size() == 2);

  const auto train = folder.load_split(ccl::data::Split::train);
  REQUIRE(train.features.rows() == 3);
  REQUIRE(train.features.cols() == 512);
  CHECK(train.labels == std::vector<std::int32_t>{0, 1, 2});
  CHECK(train.missing == std::vector<std::uint8_t>{1, 0, 0});  // the all-zero vector
  CHECK(train.features(1, 5) == npy_value(0, 5));              // T×512 file, row 0 without rng
  // With an rng, a row of the 2×512 matrix is drawn, as the official loader does.
  ccl::Rng rng(3);
  bool saw_row1 = false;
  for (int i = 0; i < 20; ++i) {
    const auto row = folder.load(files[3], &rng);
    CHECK((row[5] == npy_value(0, 5) || row[5] == npy_value(1, 5)));
    saw_row1 = saw_row1 || row[0] == npy_value(1, 0);
  }
  CHECK(saw_row1);
}

TEST_CASE("Teacher features: bad layouts and files are errors naming the file", "[data][features]") {
  using ccl::data::TeacherFeatureFolder;
  CHECK_THROWS_WITH(TeacherFeatureFolder(fixture("no-such-folder")), Contains("is not a directory"));
  {
    TempDir dir("empty");
    CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path), Contains("has no class folders"));
    fs::create_directories(dir.path / "Archery");
    CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path), Contains("holds no .npy files"));
  }
  {
    TempDir dir("badname");
    write_vector(dir.path / "Archery" / "Archery_g01_c01.npy", 512);
    CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path),
                      Contains("bad file name") && Contains("Archery_g01_c01.npy"));
  }
  {
    TempDir dir("badgroup");
    write_vector(dir.path / "Archery" / "v_Archery_gx1_c01.npy", 512);
    CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path), Contains("bad file name"));
  }
  {
    TempDir dir("mismatch");
    write_vector(dir.path / "Archery" / "v_Bowling_g01_c01.npy", 512);
    CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path),
                      Contains("names class 'Bowling'") && Contains("folder of class 'Archery'"));
  }
  {
    TempDir dir("group0");
    write_vector(dir.path / "Archery" / "v_Archery_g00_c01.npy", 512);
    CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path), Contains("start at 01"));
  }
  {
    TempDir dir("shape");
    write_vector(dir.path / "Archery" / "v_Archery_g01_c01.npy", 256);
    const TeacherFeatureFolder folder(dir.path);
    CHECK_THROWS_WITH(folder.load(folder.files()[0]),
                      Contains("v_Archery_g01_c01.npy") && Contains("has shape [256]") &&
                          Contains("expected (512,) or (T, 512)"));
    // A different width is accepted when asked for.
    ccl::data::FeatureFolderOptions options;
    options.dim = 256;
    CHECK(TeacherFeatureFolder(dir.path, options).load(TeacherFeatureFolder(dir.path, options).files()[0]).size() == 256);
  }
  {
    TempDir dir("fixture-shape");
    fs::create_directories(dir.path / "Archery");
    fs::copy_file(fixture("npy/wrong-shape.npy"), dir.path / "Archery" / "v_Archery_g02_c01.npy");
    const TeacherFeatureFolder folder(dir.path);
    CHECK_THROWS_WITH(folder.load(folder.files()[0]), Contains("has shape [256]"));
  }
  {
    TempDir dir("stray");
    write_vector(dir.path / "Archery" / "v_Archery_g01_c01.npy", 512);
    fs::create_directories(dir.path / "Archery" / "extra");
    CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path),
                      Contains("unexpected folder") && Contains("extra") &&
                          Contains("holds only v_CLASS_gXX_cYY.npy files"));
  }
  {
    TempDir dir("nan");
    write_vector(dir.path / "Archery" / "v_Archery_g01_c01.npy", 512, std::nanf(""));
    const TeacherFeatureFolder folder(dir.path);
    CHECK_THROWS_WITH(folder.load(folder.files()[0]), Contains("non-finite value"));
  }
  {
    TempDir dir("dtype");
    fs::create_directories(dir.path / "Archery");
    fs::copy_file(fixture("npy/wrong-dtype.npy"), dir.path / "Archery" / "v_Archery_g01_c01.npy");
    const TeacherFeatureFolder folder(dir.path);
    CHECK_THROWS_WITH(folder.load(folder.files()[0]),
                      Contains("v_Archery_g01_c01.npy") && Contains("unsupported dtype"));
  }
}

TEST_CASE("Teacher features: a root one level too high or too low names the folder to pass",
          "[data][features]") {
  using ccl::data::TeacherFeatureFolder;
  TempDir dir("levels");
  // The release's archive: ROOT/audio/CLASS/v_*.npy; the user passes ROOT.
  write_vector(dir.path / "audio" / "Archery" / "v_Archery_g01_c01.npy", 512);
  write_vector(dir.path / "audio" / "Bowling" / "v_Bowling_g02_c01.npy", 512);
  const std::string audio = (dir.path / "audio").string();
  CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path),
                    Contains("looks like the folder above the class folders") &&
                        Contains("pass '" + audio + "'"));
  CHECK(TeacherFeatureFolder(dir.path / "audio").classes().size() == 2);
  // One class folder passed as the root.
  CHECK_THROWS_WITH(TeacherFeatureFolder(dir.path / "audio" / "Archery"),
                    Contains("looks like one class folder") && Contains("pass its parent") &&
                        Contains("audio'"));
}

namespace {
// A layout with `groups` groups of `clips` clips in each of `classes` classes; the value of every
// feature encodes its class, group and clip, so a row can be traced back to its file.
void write_grouped_layout(const fs::path& root, int classes, int groups, int clips) {
  const char* names[] = {"Archery", "Bowling", "Diving", "Fencing"};
  for (int c = 0; c < classes; ++c)
    for (int g = 1; g <= groups; ++g)
      for (int k = 1; k <= clips; ++k) {
        char file[64];
        std::snprintf(file, sizeof file, "v_%s_g%02d_c%02d.npy", names[c], g, k);
        write_vector(root / names[c] / file, 8, float(c * 10000 + g * 100 + k));
      }
}
}  // namespace

TEST_CASE("Feature batches carry each row's file; split_by_group keeps every group on one side",
          "[data][features][split]") {
  TempDir dir("groups");
  write_grouped_layout(dir.path, 3, 10, 4);
  ccl::data::FeatureFolderOptions options;
  options.dim = 8;
  options.last_test_group = 5;  // 1-5 test, 6-10 train
  const ccl::data::TeacherFeatureFolder folder(dir.path, options);
  const auto train = folder.load_split(ccl::data::Split::train);
  REQUIRE(train.rows() == 3 * 5 * 4);
  REQUIRE(train.files.size() == std::size_t(train.rows()));
  for (ccl::Index i = 0; i < train.rows(); ++i) {
    const auto& file = train.files[std::size_t(i)];
    CHECK(train.features(i, 0) == float(file.label * 10000 + file.group * 100 + file.clip));
    CHECK(train.labels[std::size_t(i)] == file.label);
    CHECK(file.group >= 6);
  }

  SECTION("named groups") {
    const auto split = ccl::data::split_by_group(train.files, {9, 7, 7});
    CHECK(split.validation_groups == std::vector<int>{7, 9});
    CHECK(split.validation.size() == 3 * 2 * 4);
    CHECK(split.train.size() == 3 * 3 * 4);
    const auto fit = train.subset(split.train), validation = train.subset(split.validation);
    for (const auto& file : validation.files) CHECK((file.group == 7 || file.group == 9));
    for (const auto& file : fit.files) CHECK((file.group != 7 && file.group != 9));
    // subset copies rows, labels and files consistently.
    for (ccl::Index i = 0; i < validation.rows(); ++i)
      CHECK(validation.features(i, 0) == float(validation.files[std::size_t(i)].label * 10000 +
                                               validation.files[std::size_t(i)].group * 100 +
                                               validation.files[std::size_t(i)].clip));
  }
  SECTION("a fraction of the groups, drawn from a seed, independent of the row order") {
    ccl::Rng rng(11), same(11);
    const auto split = ccl::data::split_by_group(train.files, 0.4, rng);
    REQUIRE(split.validation_groups.size() == 2);  // round(0.4 · 5)
    auto reversed = train.files;
    std::reverse(reversed.begin(), reversed.end());
    CHECK(ccl::data::split_by_group(reversed, 0.4, same).validation_groups ==
          split.validation_groups);
    std::set<int> train_groups, validation_groups;
    for (auto i : split.train) train_groups.insert(train.files[std::size_t(i)].group);
    for (auto i : split.validation) validation_groups.insert(train.files[std::size_t(i)].group);
    for (int g : validation_groups) CHECK(train_groups.count(g) == 0);
    CHECK(split.train.size() + split.validation.size() == std::size_t(train.rows()));
    // At least one group is held out and at least one kept, whatever the fraction.
    ccl::Rng small(1);
    CHECK(ccl::data::split_by_group(train.files, 0.01, small).validation_groups.size() == 1);
    CHECK(ccl::data::split_by_group(train.files, 0.99, small).validation_groups.size() == 4);
  }
  SECTION("bad requests are errors") {
    ccl::Rng rng(1);
    CHECK_THROWS_WITH(ccl::data::split_by_group(train.files, {3}),
                      Contains("group 3 does not occur") && Contains("groups 6 to 10"));
    CHECK_THROWS_WITH(ccl::data::split_by_group(train.files, {6, 7, 8, 9, 10}),
                      Contains("nothing is left to train on"));
    CHECK_THROWS_WITH(ccl::data::split_by_group(train.files, std::vector<int>{}),
                      Contains("no validation group"));
    CHECK_THROWS_WITH(ccl::data::split_by_group(train.files, 1.0, rng),
                      Contains("must lie in (0, 1)"));
    CHECK_THROWS_WITH(ccl::data::split_by_group({}, 0.5, rng), Contains("no files"));
    const auto one_group = train.subset({0, 1});
    CHECK_THROWS_WITH(ccl::data::split_by_group(one_group.files, 0.5, rng),
                      Contains("needs at least two groups"));
    CHECK_THROWS_WITH(train.subset({train.rows()}), Contains("outside [0, 60)"));
  }
}

TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist", "[data][fashion-mnist]") {
  const auto dir = ccl::data::default_fashion_mnist_dir();
  if (!ccl::data::fashion_mnist_available(dir) || !ccl::data::gzip_supported()) {
    WARN("skipped: Fashion-MNIST not found in " << dir.string()
         << " or built without zlib (install dataset-fashion-mnist and zlib1g-dev)");
    return;
  }
  const auto test = ccl::data::load_fashion_mnist(dir, false);
  CHECK(test.count == 10000);
  std::vector<int> per_class(10, 0);
  for (auto label : test.labels) ++per_class[std::size_t(label)];
  CHECK(per_class == std::vector<int>(10, 1000));
}
