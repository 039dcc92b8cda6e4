// The device row mathematics evaluated on the host: the contrastive row objective
// (kernels/contrastive_rows.cuh) and the SymmetricKl terms (kernels/symmetric_kl.cuh), against the
// CPU row objectives of multi-class NCE and instance NCE on the same logits. Its functions are
// __host__ __device__, so this checks the kernels' mathematics (streaming passes, slice merges,
// dominant-column forms, both numerics) on machines without a GPU. The column slices mimic the
// fused kernels' split of a row across thread blocks and the per-thread strides of the row kernel.
//
// Tolerances, relative to max(1, |ℓ|) for the loss and to max(1, max_j |dℓ/ds_j|) for the
// gradient (its entries are differences of probabilities, so rounding is absolute below 1):
// double 1e-12, float 2e-5. Numerics::official is ill-conditioned as p -> 1 by construction:
// log(1 - p + 1e-10) amplifies one rounding of p by up to 1e-10 / ulp(1), so rows with such a
// column (small τ) are compared at 1e-5 in double and only checked to be finite in float.

#include <ccl/core/rng.hpp>
#include <ccl/cuda/kernels/contrastive_rows.cuh>
#include <ccl/cuda/kernels/symmetric_kl.cuh>
#include <ccl/loss/multiclass_nce.hpp>
#include <ccl/loss/nce.hpp>
#include <ccl/loss/symmetric_kl.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace k = ccl::gpu::kernels;
using ccl::Index;

namespace {

template <class Scalar>
struct RowResult {
  double loss = 0;
  std::vector<Scalar> gradient;
};

/// The three passes as the kernels run them, over `slices` interleaved column subsets (thread
/// t of a row takes columns t, t + slices, ...) folded with stats_combine / terms_combine.
template <class Scalar>
RowResult<Scalar> device_row(const std::vector<Scalar>& s, int i, const std::vector<int>& ids,
                             int positives, k::RowMode mode, int slices) {
  const int batch = static_cast<int>(s.size());
  auto positive = [&](int j) { return ids[std::size_t(j)] == ids[std::size_t(i)]; };
  std::vector<k::RowStats<Scalar>> stats(std::size_t(slices), k::empty_stats<Scalar>());
  for (int j = 0; j < batch; ++j)
    k::stats_update(stats[std::size_t(j % slices)], s[std::size_t(j)], j, positive(j));
  k::RowStats<Scalar> st = k::empty_stats<Scalar>();
  for (const auto& part : stats) st = k::stats_combine(st, part);
  k::RowFinal<Scalar> fin = k::finish_stats(st, positives, batch - positives, positive(st.top));
  k::RowTerms<Scalar> terms{};
  if (mode != k::RowMode::instance) {
    std::vector<k::RowTerms<Scalar>> parts(std::size_t(slices), k::RowTerms<Scalar>{});
    for (int j = 0; j < batch; ++j) {
      k::terms_update(parts[std::size_t(j % slices)], fin, mode, s[std::size_t(j)], j, positive(j));
    }
    for (const auto& part : parts) terms = k::terms_combine(terms, part);
  }
  RowResult<Scalar> out;
  out.loss = k::finish_row(fin, st, terms, mode);
  out.gradient.resize(s.size());
  for (int j = 0; j < batch; ++j) {
    out.gradient[std::size_t(j)] = k::row_gradient(fin, mode, s[std::size_t(j)], j, positive(j));
  }
  return out;
}

template <class Objective, class Scalar>
RowResult<Scalar> cpu_row(Objective& objective, const std::vector<Scalar>& s, int i) {
  Eigen::Matrix<Scalar, 1, Eigen::Dynamic> row =
      Eigen::Map<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>(s.data(), Index(s.size()));
  typename Objective::Scratch scratch;
  RowResult<Scalar> out;
  out.loss = objective.row(row, i, scratch);
  out.gradient.assign(row.data(), row.data() + row.size());
  return out;
}

template <class Scalar>
void require_same(const RowResult<Scalar>& device, const RowResult<Scalar>& cpu, double tol) {
  INFO("loss: device " << device.loss << ", cpu " << cpu.loss);
  REQUIRE(std::isfinite(device.loss));
  CHECK(std::abs(device.loss - cpu.loss) <= tol * std::max(1.0, std::abs(cpu.loss)));
  double scale = 1, error = 0;
  for (std::size_t j = 0; j < cpu.gradient.size(); ++j) {
    scale = std::max(scale, std::abs(double(cpu.gradient[j])));
    error = std::max(error, std::abs(double(device.gradient[j]) - double(cpu.gradient[j])));
  }
  INFO("gradient: max error " << error << ", max entry " << scale);
  CHECK(error <= tol * scale);
}

enum class Shape { random, dominant_positive, dominant_negative };

template <class Scalar>
std::vector<Scalar> logits(int batch, int i, double tau, Shape shape, ccl::Rng& rng) {
  std::vector<Scalar> s(static_cast<std::size_t>(batch));
  for (auto& x : s) x = Scalar(rng.uniform(-1.0, 1.0) / tau);
  if (shape != Shape::random && batch > 1) {
    // Rows 2c and 2c + 1 share a class, so i + 2 is a negative of i whenever B > 3.
    const int top = shape == Shape::dominant_positive ? i : (i + 2) % batch;
    s[std::size_t(top)] = Scalar(1.0 / tau);  // cos = 1 against values <= 0.9 / τ elsewhere
    for (int j = 0; j < batch; ++j) {
      if (j != top) s[std::size_t(j)] = Scalar(std::min(double(s[std::size_t(j)]), 0.9 / tau));
    }
  }
  return s;
}

template <class Scalar>
void compare_multiclass(ccl::loss::Numerics numerics, double tol) {
  ccl::Rng rng(2024);
  for (int batch : {1, 2, 7, 64, 301}) {
    for (double tau : {0.5, 0.07, 0.01}) {
      for (Shape shape : {Shape::random, Shape::dominant_positive, Shape::dominant_negative}) {
        // Two rows per class (the row after i is then a negative), or one class for B = 2.
        std::vector<int> labels(static_cast<std::size_t>(batch));
        for (int j = 0; j < batch; ++j) labels[std::size_t(j)] = (j / 2) * 3;
        ccl::loss::ContrastiveOptions options;
        options.temperature = tau;
        options.numerics = numerics;
        ccl::loss::detail::MultiClassNceRows<Scalar> objective;
        objective.prepare("test", labels, batch, options);
        ccl::loss::detail::LabelGroups groups;
        groups.assign(labels);
        std::vector<int> ids(groups.ids().data(), groups.ids().data() + batch);
        const k::RowMode mode = numerics == ccl::loss::Numerics::official
                                    ? k::RowMode::multiclass_official
                                    : k::RowMode::multiclass_stable;
        for (int i : {0, batch / 2, batch - 1}) {
          const auto s = logits<Scalar>(batch, i, tau, shape, rng);
          const auto cpu = cpu_row(objective, s, i);
          const bool ill_conditioned = numerics == ccl::loss::Numerics::official && tau < 0.1;
          for (int slices : {1, 3, 8}) {
            INFO("B " << batch << ", tau " << tau << ", shape " << int(shape) << ", row " << i
                      << ", slices " << slices);
            const auto device = device_row(s, i, ids, int(groups.positives(i)), mode, slices);
            if (!ill_conditioned) {
              require_same(device, cpu, tol);
            } else if (std::is_same_v<Scalar, double>) {
              require_same(device, cpu, 1e-5);
            } else {
              REQUIRE(std::isfinite(device.loss));
              for (Scalar x : device.gradient) REQUIRE(std::isfinite(x));
            }
          }
        }
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("the device row objective matches the CPU multi-class NCE rows (stable)",
                   "[host][cuda][row-math]", float, double) {
  compare_multiclass<TestType>(ccl::loss::Numerics::stable,
                               std::is_same_v<TestType, double> ? 1e-12 : 2e-5);
}

TEMPLATE_TEST_CASE("the device row objective matches the CPU multi-class NCE rows (official)",
                   "[host][cuda][row-math]", float, double) {
  compare_multiclass<TestType>(ccl::loss::Numerics::official,
                               std::is_same_v<TestType, double> ? 1e-12 : 2e-5);
}

TEMPLATE_TEST_CASE("the device row objective matches the CPU instance NCE rows",
                   "[host][cuda][row-math]", float, double) {
  using Scalar = TestType;
  ccl::Rng rng(7);
  ccl::loss::detail::InstanceNceRows<Scalar> objective;
  for (int batch : {1, 5, 130}) {
    std::vector<int> ids(static_cast<std::size_t>(batch));
    for (int j = 0; j < batch; ++j) ids[std::size_t(j)] = j;
    for (double tau : {0.5, 0.02}) {
      for (int i : {0, batch - 1}) {
        const auto s = logits<Scalar>(batch, i, tau, Shape::random, rng);
        const auto cpu = cpu_row(objective, s, i);
        for (int slices : {1, 4}) {
          INFO("B " << batch << ", tau " << tau << ", row " << i << ", slices " << slices);
          require_same(device_row(s, i, ids, 1, k::RowMode::instance, slices), cpu,
                       std::is_same_v<Scalar, double> ? 1e-12 : 2e-5);
        }
      }
    }
  }
}

TEST_CASE("online log-sum-exp slices merge in any order", "[host][cuda][row-math]") {
  ccl::Rng rng(3);
  std::vector<double> s(50);
  for (auto& x : s) x = rng.uniform(-30.0, 30.0);
  k::RowStats<double> all = k::empty_stats<double>();
  for (int j = 0; j < 50; ++j) k::stats_update(all, s[std::size_t(j)], j, j % 3 == 0);
  k::RowStats<double> a = k::empty_stats<double>(), b = k::empty_stats<double>();
  for (int j = 0; j < 50; ++j) k::stats_update(j < 20 ? a : b, s[std::size_t(j)], j, j % 3 == 0);
  for (const auto& merged : {k::stats_combine(a, b), k::stats_combine(b, a),
                             k::stats_combine(k::empty_stats<double>(), k::stats_combine(a, b))}) {
    CHECK(merged.max == all.max);
    CHECK(merged.top == all.top);
    CHECK(merged.runner_up == all.runner_up);
    CHECK(merged.sum_exp == Approx(all.sum_exp).epsilon(1e-14));
    CHECK(merged.sum_pos == Approx(all.sum_pos).epsilon(1e-14));
  }
}

TEMPLATE_TEST_CASE("the device SymmetricKl terms match the CPU SymmetricKl on one row",
                   "[host][cuda][row-math][symmetric_kl]", float, double) {
  using Scalar = TestType;
  const double tol = std::is_same_v<Scalar, double> ? 1e-12 : 1e-4;
  ccl::Rng rng(11);
  for (auto numerics : {ccl::loss::Numerics::stable, ccl::loss::Numerics::official}) {
    for (int classes : {1, 2, 51}) {
      for (double spread : {1.0, 40.0}) {
        INFO("numerics " << int(numerics) << ", C " << classes << ", spread " << spread);
        ccl::RowMatrix<Scalar> z1(1, classes), z2(1, classes);
        for (int c = 0; c < classes; ++c) {
          z1(0, c) = Scalar(spread * rng.normal());
          z2(0, c) = Scalar(spread * rng.normal());
        }
        ccl::loss::SymmetricKlOptions options;
        options.numerics = numerics;
        ccl::RowMatrix<Scalar> g1 = ccl::RowMatrix<Scalar>::Zero(1, classes), g2 = g1;
        ccl::loss::SymmetricKl<Scalar> cpu(options);
        const double cpu_value = cpu.accumulate(ccl::view(z1), ccl::view(z2), {}, Scalar(1),
                                                ccl::mutable_view(g1), ccl::mutable_view(g2));

        // The kernel's two passes over the row, on the host.
        auto lse = [&](const ccl::RowMatrix<Scalar>& z) {
          const Scalar max = z.maxCoeff();
          return max + std::log((z.array() - max).exp().sum());
        };
        const Scalar lse1 = lse(z1), lse2 = lse(z2);
        const bool official = numerics == ccl::loss::Numerics::official;
        const Scalar log_eps = Scalar(std::log(ccl::loss::detail::symmetric_kl_epsilon));
        Scalar loss = 0, h1 = 0, h2 = 0;
        for (int c = 0; c < classes; ++c) {
          const auto t = k::symmetric_kl_terms(z1(0, c) - lse1, z2(0, c) - lse2, official, log_eps);
          loss += t.loss;
          h1 += t.h1;
          h2 += t.h2;
        }
        const double value = options.weight * double(loss);
        CHECK(std::abs(value - cpu_value) <= tol * std::max(1.0, std::abs(cpu_value)));
        const Scalar scale = Scalar(options.weight);
        double error = 0, largest = 1e-30;
        for (int c = 0; c < classes; ++c) {
          const Scalar log_p = z1(0, c) - lse1, log_q = z2(0, c) - lse2;
          const auto t = k::symmetric_kl_terms(log_p, log_q, official, log_eps);
          const double d1 = scale * (t.h1 - std::exp(log_p) * h1);
          const double d2 = scale * (t.h2 - std::exp(log_q) * h2);
          error =
              std::max({error, std::abs(d1 - double(g1(0, c))), std::abs(d2 - double(g2(0, c)))});
          largest = std::max({largest, std::abs(double(g1(0, c))), std::abs(double(g2(0, c)))});
        }
        INFO("gradient error " << error << ", largest entry " << largest);
        CHECK(error <= tol * largest);
      }
    }
  }
}
