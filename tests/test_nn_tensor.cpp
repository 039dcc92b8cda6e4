// nn::Tensor: C-order layout, shape helpers, element access and resizing.

#include <ccl/nn/tensor.hpp>
#include <ccl/nn/tensor_checks.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using ccl::Index;
using ccl::nn::Shape;
using ccl::nn::Tensor;

TEST_CASE("Tensor is C-order with PyTorch's [N, C, T, H, W] layout", "[nn][tensor]") {
  Tensor<float, 5> x({2, 3, 4, 5, 6});
  REQUIRE(x.size() == 2 * 3 * 4 * 5 * 6);
  CHECK(x.batch() == 2);
  CHECK(x.channels() == 3);
  CHECK(x.spatial() == Shape<3>{4, 5, 6});
  CHECK(x.spatial_size() == 120);
  CHECK(x.shape_string() == "[2, 3, 4, 5, 6]");
  CHECK(x.flat().isZero(0));
  x(1, 2, 3, 4, 5) = 7.f;
  CHECK(x.data()[x.size() - 1] == 7.f);
  x(0, 1, 0, 0, 2) = 3.f;
  CHECK(x.data()[1 * 120 + 2] == 3.f);
}

TEST_CASE("Tensor construction, copy from a buffer, matrix view and resize", "[nn][tensor]") {
  const double buffer[6] = {1, 2, 3, 4, 5, 6};
  Tensor<double, 2> m({2, 3}, buffer);
  CHECK(m.matrix()(1, 0) == 4);
  CHECK(m.channels() == 3);
  CHECK(m.spatial_size() == 1);
  Tensor<double, 3> filled({1, 2, 2}, 0.5);
  CHECK(filled.flat().sum() == 2.0);
  const double* before = filled.data();
  filled.resize({2, 1, 2});  // same element count: the buffer is reused
  CHECK(filled.data() == before);
  CHECK(filled.shape() == Shape<3>{2, 1, 2});
  Tensor<double, 3> empty;
  CHECK(empty.empty());
  CHECK(ccl::nn::uniform_shape<3>(2) == Shape<3>{2, 2, 2});
  REQUIRE_THROWS_WITH((Tensor<double, 3>({1, -2, 3})),
                      Catch::Matchers::Contains("negative extent in shape [1, -2, 3]"));
}

TEST_CASE("nn checks name the operation and the shape", "[nn][tensor][errors]") {
  using Catch::Matchers::Contains;
  Tensor<float, 4> x({2, 3, 4, 4});
  REQUIRE_NOTHROW(ccl::nn::tensor_checks::finite("op", "x", x));
  x(1, 1, 1, 1) = INFINITY;
  REQUIRE_THROWS_WITH(ccl::nn::tensor_checks::finite("op", "x", x),
                      Contains("op: x (shape [2, 3, 4, 4]) has a non-finite value inf"));
  REQUIRE_THROWS_WITH(ccl::nn::tensor_checks::channels("op", "x", x, 5),
                      Contains("op: x has 3 channels (shape [2, 3, 4, 4]), expected 5"));
  REQUIRE_THROWS_WITH(ccl::nn::tensor_checks::non_empty("op", "x", Tensor<float, 3>({0, 2, 2})),
                      Contains("op: x is empty (shape [0, 2, 2])"));
}
