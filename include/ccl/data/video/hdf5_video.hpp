#pragma once
// The official CCL video storage (method.md §2.4): one HDF5 file per video whose dataset `video`
// holds the frames as JPEG byte strings, one element per frame, as the official
// generate_video_hdf5.py writes them with h5py (`special_dtype(vlen=uint8)`: a rank-1 dataset of
// variable-length uint8 sequences). The fixed-length variant (a rank-1 dataset of opaque
// records, what h5py makes of an array of np.void) is read too; a record may carry zero padding
// after the image.
//
// Frame indices are 1-based as in the official loader: a video with n frames has the segment
// [1, n + 1) and frame i is element i − 1.
//
// The HDF5 C library is an optional dependency: targets that link ccl::data_video get
// CCL_DATA_HAVE_HDF5 defined; elsewhere this header compiles and opening a file throws a
// ccl::error saying what to link. HDF5's own error printing is silenced while ccl calls it; its
// innermost message becomes part of the ccl::error instead. Distributions ship HDF5 built without
// thread safety, so every HDF5 call ccl makes holds one process-wide mutex: videos may be opened
// and read from several threads (the JPEG decoding then runs in parallel, the reads do not).

#include <ccl/core/error.hpp>
#include <ccl/core/types.hpp>
#include <ccl/data/bytes.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>

#if defined(CCL_DATA_HAVE_HDF5)
#include <hdf5.h>
#endif

namespace ccl::data {

inline constexpr bool hdf5_supported() {
#if defined(CCL_DATA_HAVE_HDF5)
  return true;
#else
  return false;
#endif
}

namespace detail {
// Serialises ccl's HDF5 calls (see the header comment).
inline std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  return mutex;
}
}  // namespace detail

#if defined(CCL_DATA_HAVE_HDF5)
namespace detail {

// An owned HDF5 identifier with its close function (files, datasets, dataspaces, types).
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  H5Id(H5Id&& other) noexcept
      : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  H5Id& operator=(H5Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  ~H5Id() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Turns HDF5's automatic error printing off for its lifetime (restoring the user's handler), so
// that a bad file gives one ccl::error rather than a stack dump on stderr.
class H5Quiet {
 public:
  H5Quiet() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  H5Quiet(const H5Quiet&) = delete;
  H5Quiet& operator=(const H5Quiet&) = delete;
  ~H5Quiet() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

// The most specific message on HDF5's error stack ("truncated file: eof = ..."), then cleared.
inline std::string h5_last_error() {
  std::string message;
  auto walk = [](unsigned, const H5E_error2_t* entry, void* out) -> herr_t {
    auto* text = static_cast<std::string*>(out);
    if (text->empty() && entry != nullptr && entry->desc != nullptr) *text = entry->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk, &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? std::string("no HDF5 error message") : message;
}

inline const char* h5_class_name(H5T_class_t type_class) {
  switch (type_class) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    default: return "unknown";
  }
}

}  // namespace detail
#endif

/// One video file of the official layout, kept open for reading frames.
class Hdf5Video {
 public:
  /// How the frames are stored in the `video` dataset.
  enum class Storage { variable_length, fixed_length };

  explicit Hdf5Video(const std::filesystem::path& path, const std::string& dataset = "video")
      : path_(path), dataset_name_(dataset) {
    require(std::filesystem::exists(path), "HDF5 video '", path.string(), "': no such file");
    require(std::filesystem::is_regular_file(path), "HDF5 video '", path.string(),
            "': not a regular file");
#if defined(CCL_DATA_HAVE_HDF5)
    // Handles live in locals until the end, so that a throw closes them while the lock is held.
    const std::lock_guard<std::mutex> lock(detail::hdf5_mutex());
    detail::H5Quiet quiet;
    const std::string name = path.string();
    const htri_t is_hdf5 = H5Fis_hdf5(name.c_str());
    require(is_hdf5 > 0, "HDF5 video '", name, "': not an HDF5 file",
            is_hdf5 < 0 ? " (" + detail::h5_last_error() + ")" : std::string());
    detail::H5Id file(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    require(file.valid(), "HDF5 video '", name, "': cannot open it (truncated or corrupt?): ",
            detail::h5_last_error());
    const htri_t exists = H5Lexists(file.get(), dataset.c_str(), H5P_DEFAULT);
    require(exists > 0, "HDF5 video '", name, "': no dataset '", dataset,
            "' (the official layout stores the JPEG frames in 'video')");
    detail::H5Id data(H5Dopen2(file.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
    require(data.valid(), "HDF5 video '", name, "': '", dataset,
            "' is not a readable dataset: ", detail::h5_last_error());

    detail::H5Id space(H5Dget_space(data.get()), H5Sclose);
    require(space.valid(), "HDF5 video '", name, "': cannot read the dataspace of '", dataset,
            "': ", detail::h5_last_error());
    const int rank = H5Sget_simple_extent_ndims(space.get());
    require(rank == 1, "HDF5 video '", name, "': dataset '", dataset, "' has rank ", rank,
            ", expected a rank-1 dataset with one element per frame");
    hsize_t count = 0;
    H5Sget_simple_extent_dims(space.get(), &count, nullptr);
    require(count > 0, "HDF5 video '", name, "': dataset '", dataset,
            "' holds no frames (an empty video)");
    require(count <= hsize_t(max_frames), "HDF5 video '", name, "': dataset '", dataset,
            "' claims ", count, " frames, more than the limit of ", max_frames);
    frames_ = Index(count);
    file_bytes_ = std::uintmax_t(std::filesystem::file_size(path));

    detail::H5Id type(H5Dget_type(data.get()), H5Tclose);
    detail::H5Id memory_type;
    const H5T_class_t type_class = H5Tget_class(type.get());
    if (type_class == H5T_VLEN) {
      detail::H5Id base(H5Tget_super(type.get()), H5Tclose);
      require(H5Tget_class(base.get()) == H5T_INTEGER && H5Tget_size(base.get()) == 1,
              "HDF5 video '", name, "': dataset '", dataset,
              "' is variable-length but not of bytes; expected vlen uint8 (JPEG bytes)");
      const bool is_signed = H5Tget_sign(base.get()) == H5T_SGN_2;
      memory_type = detail::H5Id(
          H5Tvlen_create(is_signed ? H5T_NATIVE_SCHAR : H5T_NATIVE_UCHAR), H5Tclose);
      storage_ = Storage::variable_length;
    } else if (type_class == H5T_OPAQUE) {
      // The record size comes from the file and sizes the read buffer: it must be plausible, and
      // without a compression filter the file must actually hold one record of it.
      const std::size_t record = H5Tget_size(type.get());
      require(record >= 1 && record <= max_frame_bytes, "HDF5 video '", name, "': dataset '",
              dataset, "' has opaque records of ", record, " bytes; a frame may hold at most ",
              max_frame_bytes);
      detail::H5Id creation(H5Dget_create_plist(data.get()), H5Pclose);
      const int filters = creation.valid() ? H5Pget_nfilters(creation.get()) : -1;
      require(filters != 0 || record <= file_bytes_, "HDF5 video '", name, "': dataset '",
              dataset, "' claims records of ", record, " bytes, more than the whole file (",
              file_bytes_, " bytes) holds");
      record_size_ = Index(record);
      memory_type = detail::H5Id(H5Tcopy(type.get()), H5Tclose);
      storage_ = Storage::fixed_length;
    } else {
      throw error(ccl::detail::concat(
          "HDF5 video '", name, "': dataset '", dataset, "' holds HDF5 ",
          detail::h5_class_name(type_class), " elements; expected variable-length uint8 (h5py special_dtype(vlen=uint8)) ",
          "or fixed-length opaque records (np.void) of JPEG/PNG bytes"));
    }
    require(memory_type.valid(), "HDF5 video '", name, "': cannot build the memory type: ",
            detail::h5_last_error());
    file_ = std::move(file);
    dataset_ = std::move(data);
    memory_type_ = std::move(memory_type);
#else
    throw error(ccl::detail::concat("HDF5 video '", path.string(),
                                    "': reading HDF5 needs the HDF5 C library: link "
                                    "ccl::data_video (Debian: libhdf5-dev)"));
#endif
  }

  Hdf5Video(const Hdf5Video&) = delete;
  Hdf5Video& operator=(const Hdf5Video&) = delete;
  ~Hdf5Video() {
#if defined(CCL_DATA_HAVE_HDF5)
    const std::lock_guard<std::mutex> lock(detail::hdf5_mutex());
    memory_type_.reset();
    dataset_.reset();
    file_.reset();
#endif
  }

  /// Limits on what a file may claim (checked before anything is allocated from its sizes).
  static constexpr Index max_frames = Index(1) << 20;
  static constexpr std::size_t max_frame_bytes = std::size_t(64) << 20;

  const std::filesystem::path& path() const { return path_; }
  Index frame_count() const { return frames_; }
  Storage storage() const { return storage_; }
  /// Bytes per frame record of the fixed-length storage (0 for variable-length frames).
  Index record_size() const { return record_size_; }

  /// The encoded bytes of frame `index` (1-based, 1 <= index <= frame_count()).
  Bytes frame_bytes(Index index) const {
    require(index >= 1 && index <= frames_, "HDF5 video '", path_.string(), "': frame ", index,
            " out of range: frames are numbered 1 to ", frames_);
#if defined(CCL_DATA_HAVE_HDF5)
    const std::lock_guard<std::mutex> lock(detail::hdf5_mutex());
    detail::H5Quiet quiet;
    detail::H5Id file_space(H5Dget_space(dataset_.get()), H5Sclose);
    const hsize_t start = hsize_t(index - 1), one = 1;
    require(file_space.valid() && H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start,
                                                      nullptr, &one, nullptr) >= 0,
            "HDF5 video '", path_.string(), "': cannot select frame ", index, ": ",
            detail::h5_last_error());
    detail::H5Id memory_space(H5Screate_simple(1, &one, nullptr), H5Sclose);
    Bytes bytes;
    if (storage_ == Storage::variable_length) {
      // The element's length is read from the file before HDF5 allocates it: bounded like the
      // fixed-length records (variable-length data is never compressed, so it must be present).
      hsize_t needed = 0;
      require(H5Dvlen_get_buf_size(dataset_.get(), memory_type_.get(), file_space.get(),
                                   &needed) >= 0,
              "HDF5 video '", path_.string(), "': cannot read the size of frame ", index,
              " (corrupt file?): ", detail::h5_last_error());
      require(needed <= hsize_t(max_frame_bytes) && needed <= file_bytes_, "HDF5 video '",
              path_.string(), "': frame ", index, " claims ", needed,
              " bytes, more than the file holds or the limit of ", max_frame_bytes, " bytes");
      hvl_t element{0, nullptr};
      const herr_t status = H5Dread(dataset_.get(), memory_type_.get(), memory_space.get(),
                                    file_space.get(), H5P_DEFAULT, &element);
      require(status >= 0, "HDF5 video '", path_.string(), "': cannot read frame ", index,
              " (corrupt file?): ", detail::h5_last_error());
      const auto* data = static_cast<const std::uint8_t*>(element.p);
      if (data != nullptr) bytes.assign(data, data + element.len);
#if H5_VERSION_GE(1, 12, 0)
      H5Treclaim(memory_type_.get(), memory_space.get(), H5P_DEFAULT, &element);
#else
      H5Dvlen_reclaim(memory_type_.get(), memory_space.get(), H5P_DEFAULT, &element);
#endif
    } else {
      bytes.resize(std::size_t(record_size_));
      const herr_t status = H5Dread(dataset_.get(), memory_type_.get(), memory_space.get(),
                                    file_space.get(), H5P_DEFAULT, bytes.data());
      require(status >= 0, "HDF5 video '", path_.string(), "': cannot read frame ", index,
              " (corrupt file?): ", detail::h5_last_error());
    }
    return bytes;
#else
    return {};
#endif
  }

 private:
  std::filesystem::path path_;
  std::string dataset_name_;
  Index frames_ = 0;
  Storage storage_ = Storage::variable_length;
  Index record_size_ = 0;
  std::uintmax_t file_bytes_ = 0;
#if defined(CCL_DATA_HAVE_HDF5)
  detail::H5Id file_;
  detail::H5Id dataset_;
  detail::H5Id memory_type_;
#endif
};

}  // namespace ccl::data
