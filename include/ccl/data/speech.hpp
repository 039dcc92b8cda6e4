#pragma once
// Real speech synthesised in memory with libespeak-ng (C API, AUDIO_OUTPUT_SYNCHRONOUS, samples
// collected by espeak_SetSynthCallback). Optional: compiled only where CCL_DATA_HAVE_ESPEAK is
// defined (targets linking ccl::data_extras when libespeak-ng-dev is found).
//
// Why a child process: espeak-ng keeps hidden global state between utterances (pitch flutter
// phase, filter memories, rand()), so the same request gives slightly different samples
// depending on everything synthesised before in the process. A batch is therefore synthesised
// by a freshly forked child that initialises espeak-ng itself and streams the samples back
// through a pipe: the same batch then gives the same bytes, however often and in whatever order
// batches are requested. The parent process never initialises espeak-ng. (POSIX only, like the
// package; the builder calls it from a single thread.)

#include <ccl/core/error.hpp>
#include <ccl/data/bytes.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(CCL_DATA_HAVE_ESPEAK)
#include <espeak-ng/speak_lib.h>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#endif

namespace ccl::data {

/// One utterance: text, an espeak-ng voice ("en-us", "en+f3": language + "+variant"), speed in
/// words per minute (80–450), base pitch and pitch range (0–100).
struct SpeechRequest {
  std::string text;
  std::string voice = "en";
  int rate = 175;
  int pitch = 50;
  int range = 50;
};

/// Mono 16-bit samples of each utterance at `sample_rate` (espeak-ng: 22,050 Hz).
struct SpeechBatch {
  int sample_rate = 0;
  std::vector<std::vector<std::int16_t>> utterances;
};

inline constexpr bool speech_supported() {
#if defined(CCL_DATA_HAVE_ESPEAK)
  return true;
#else
  return false;
#endif
}

#if defined(CCL_DATA_HAVE_ESPEAK)
namespace detail {

inline std::vector<std::int16_t>& espeak_sink() {
  static std::vector<std::int16_t> sink;
  return sink;
}

inline int espeak_collect(short* wave, int count, espeak_EVENT*) {
  if (wave != nullptr && count > 0) espeak_sink().insert(espeak_sink().end(), wave, wave + count);
  return 0;
}

inline bool write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, p, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    p += written;
    size -= std::size_t(written);
  }
  return true;
}

// The child: records are [i32 status][u32 count][count × i16]; status 0 = ok, 1 = unknown voice,
// 2 = synthesis failed. The stream starts with the sample rate (i32, negative = init failed).
[[noreturn]] inline void espeak_child(int fd, const std::vector<SpeechRequest>& requests) {
  const std::int32_t rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, 0);
  if (!write_all(fd, &rate, 4) || rate <= 0) ::_exit(1);
  espeak_SetSynthCallback(espeak_collect);
  for (const auto& request : requests) {
    std::srand(1);  // espeak-ng draws noise from rand()
    espeak_sink().clear();
    std::int32_t status = 0;
    if (espeak_SetVoiceByName(request.voice.c_str()) != EE_OK) {
      status = 1;
    } else {
      espeak_SetParameter(espeakRATE, request.rate, 0);
      espeak_SetParameter(espeakPITCH, request.pitch, 0);
      espeak_SetParameter(espeakRANGE, request.range, 0);
      if (espeak_Synth(request.text.c_str(), request.text.size() + 1, 0, POS_CHARACTER, 0,
                       espeakCHARS_UTF8, nullptr, nullptr) != EE_OK ||
          espeak_Synchronize() != EE_OK)
        status = 2;
    }
    const auto count = std::uint32_t(espeak_sink().size());
    if (!write_all(fd, &status, 4) || !write_all(fd, &count, 4) ||
        !write_all(fd, espeak_sink().data(), 2 * std::size_t(count)))
      ::_exit(1);
  }
  ::_exit(0);
}

}  // namespace detail
#endif

/// Synthesises every request (in a fresh child process, see above). ccl::error for an unknown
/// voice, a failed synthesis, or a build without libespeak-ng.
inline SpeechBatch synthesize_speech(const std::vector<SpeechRequest>& requests) {
#if defined(CCL_DATA_HAVE_ESPEAK)
  int fds[2];
  require(::pipe(fds) == 0, "synthesize_speech: pipe() failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    detail::espeak_child(fds[1], requests);
  }
  ::close(fds[1]);
  require(pid > 0, "synthesize_speech: fork() failed");
  Bytes stream;
  std::vector<std::uint8_t> chunk(1 << 16);
  for (;;) {
    const ssize_t got = ::read(fds[0], chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    stream.insert(stream.end(), chunk.begin(), chunk.begin() + got);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The child writes in the host's byte order (same machine, same process image).
  ByteReader in(stream, "espeak-ng child");
  const auto native32 = [&in](const char* what) {
    std::int32_t value = 0;
    std::memcpy(&value, in.take(4, what), 4);
    return value;
  };
  require(stream.size() >= 4, "synthesize_speech: the espeak-ng process produced no output");
  SpeechBatch batch;
  batch.sample_rate = native32("the sample rate");
  require(batch.sample_rate > 0,
          "synthesize_speech: espeak_Initialize failed (is espeak-ng-data installed?)");
  require(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "synthesize_speech: the espeak-ng process failed after ", stream.size(), " bytes");
  for (const auto& request : requests) {
    const std::int32_t code = native32("a record status");
    require(code != 1, "synthesize_speech: espeak-ng has no voice '", request.voice, "'");
    require(code == 0, "synthesize_speech: espeak-ng failed to speak '", request.text,
            "' with voice '", request.voice, "'");
    const auto count = std::uint32_t(native32("a record length"));
    const std::uint8_t* data = in.take(2 * std::size_t(count), "the samples");
    std::vector<std::int16_t> samples(count);
    if (count > 0) std::memcpy(samples.data(), data, 2 * std::size_t(count));
    batch.utterances.push_back(std::move(samples));
  }
  return batch;
#else
  (void)requests;
  throw error("synthesize_speech: this build has no libespeak-ng: link ccl::data_extras "
              "(found when libespeak-ng-dev is installed)");
#endif
}

}  // namespace ccl::data
