// quickstart: the CCL losses on your own embeddings.
//
// A video student embedding x_v, an audio teacher embedding x_a and an image teacher embedding x_i
// (here random, in practice from your encoders) for a batch of clips with class labels. The
// program computes the paper's compositional distillation terms,
//   L = λ·NCE(x_v, x_t) + (1 − λ)·NCE(x_v, x_tv)   for t ∈ {audio, image},
// where x_tv is the composed teacher, prints them, and takes a few gradient steps on x_v alone to
// show the gradients pull the student toward same-class teachers.

#include <ccl/ccl.hpp>

#include <cstdio>
#include <vector>

int main() {
  using Matrix = ccl::RowMatrix<float>;
  const ccl::Index batch = 64, dim = 128;
  const int classes = 8;

  ccl::Rng rng(2021);
  std::vector<int> labels(batch);
  for (auto& y : labels) y = int(rng.index(classes));

  // Class prototypes: teachers see the class clearly, the student only faintly at first.
  Matrix prototypes(classes, dim);
  rng.fill_normal(prototypes);
  Matrix audio(batch, dim), image(batch, dim), student(batch, dim);
  rng.fill_normal(audio, 0.0, 0.5);
  rng.fill_normal(image, 0.0, 0.5);
  rng.fill_normal(student, 0.0, 1.0);
  for (ccl::Index i = 0; i < batch; ++i) {
    audio.row(i) += prototypes.row(labels[i]);
    image.row(i) += prototypes.row(labels[i]);
    student.row(i) += 0.1f * prototypes.row(labels[i]);
  }
  // A stand-in for the composed teacher x_tv = x_t + f([x̂_t; x̂_v]): see docs/composition.md.
  Matrix audio_composed = audio + 0.5f * student;

  ccl::loss::Distill<ccl::loss::MultiClassNce<float>> audio_distill(
      ccl::loss::MultiClassNce<float>(/*temperature=*/0.5), /*lambda=*/0.5);
  ccl::loss::MultiClassNce<float> image_nce(/*temperature=*/0.1);

  std::printf("step  audio-distill  image-nce  CCL objective\n");
  const float learning_rate = 50.0f;
  for (int step = 0; step <= 20; ++step) {
    Matrix grad_student = Matrix::Zero(batch, dim);
    const float a = audio_distill.accumulate(student, audio, audio_composed, labels, 1.0f,
                                             ccl::mutable_view(grad_student), {}, {});
    const float i = image_nce.accumulate(student, image, labels, 1.0f,
                                         ccl::mutable_view(grad_student), {});
    if (step % 5 == 0) std::printf("%4d  %13.5f  %9.5f  %13.5f\n", step, a, i, a + i);
    student -= learning_rate * grad_student;  // teachers stay frozen: their gradients are not asked for
  }
  return 0;
}
