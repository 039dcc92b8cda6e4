// A downstream program: multi-class NCE on embeddings it owns, through the umbrella header only.
#include <ccl/ccl.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  // Four clips, two classes; f and g are [B, D] row-major, e.g. a video and an audio encoder.
  ccl::RowMatrix<float> f(4, 3), g(4, 3);
  f << 1.0f, 0.2f, 0.0f, 0.9f, 0.1f, 0.3f, -0.2f, 1.0f, 0.4f, 0.0f, 0.8f, 1.0f;
  g << 0.8f, 0.0f, 0.1f, 1.0f, 0.3f, 0.0f, 0.1f, 0.9f, 0.2f, -0.1f, 1.0f, 0.7f;
  const std::vector<std::int64_t> labels{0, 0, 1, 1};

  ccl::loss::MultiClassNce<float> nce(/*temperature=*/0.5);
  const auto result = nce(ccl::view(f), ccl::view(g), labels);

  const bool finite = std::isfinite(result.value) && result.grad_f.allFinite() &&
                      result.grad_g.allFinite();
  std::printf("ccl %s: multi-class NCE = %.6f, |dL/df| = %.6f, |dL/dg| = %.6f (%s)\n",
              CCL_VERSION_STRING, static_cast<double>(result.value),
              static_cast<double>(result.grad_f.norm()), static_cast<double>(result.grad_g.norm()),
              finite ? "finite" : "NOT FINITE");
  return finite && result.value > 0.0f ? 0 : 1;
}
