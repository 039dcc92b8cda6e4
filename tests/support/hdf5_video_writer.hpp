#pragma once
// HDF5 videos in the official layout, written with the HDF5 C API: for the video tests and as
// the seeds of the HDF5 fuzzer (tests/fuzz/). Errors throw ccl::error.

#include <ccl/core/error.hpp>
#include <ccl/data/bytes.hpp>

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <vector>

namespace ccl::test {

// The official storage: rank-1 `video` dataset of vlen uint8 (h5py special_dtype(vlen=uint8)).
inline void write_vlen_video(const std::filesystem::path& path,
                             const std::vector<ccl::data::Bytes>& frames,
                             const char* name = "video") {
  const hid_t file = H5Fcreate(path.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ccl::require(file >= 0, "write_vlen_video: cannot create ", path.string());
  const hsize_t count = frames.size();
  const hid_t space = H5Screate_simple(1, &count, nullptr);
  const hid_t file_type = H5Tvlen_create(H5T_STD_U8LE);
  const hid_t memory_type = H5Tvlen_create(H5T_NATIVE_UCHAR);
  const hid_t dataset =
      H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ccl::require(dataset >= 0, "write_vlen_video: cannot create the dataset");
  std::vector<hvl_t> data(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i)
    data[i] = hvl_t{frames[i].size(), const_cast<std::uint8_t*>(frames[i].data())};
  if (count > 0)
    ccl::require(H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0,
                 "write_vlen_video: H5Dwrite failed");
  H5Dclose(dataset);
  H5Tclose(memory_type);
  H5Tclose(file_type);
  H5Sclose(space);
  H5Fclose(file);
}

// The fixed-length variant: opaque records of `record` bytes, zero-padded.
inline void write_opaque_video(const std::filesystem::path& path,
                               const std::vector<ccl::data::Bytes>& frames, std::size_t record) {
  const hid_t file = H5Fcreate(path.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t count = frames.size();
  const hid_t space = H5Screate_simple(1, &count, nullptr);
  const hid_t type = H5Tcreate(H5T_OPAQUE, record);
  H5Tset_tag(type, "frame");
  const hid_t dataset =
      H5Dcreate2(file, "video", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ccl::data::Bytes data(record * frames.size(), 0);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    ccl::require(frames[i].size() <= record, "write_opaque_video: frame larger than a record");
    std::copy(frames[i].begin(), frames[i].end(), data.begin() + std::ptrdiff_t(i * record));
  }
  ccl::require(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0,
               "write_opaque_video: H5Dwrite failed");
  H5Dclose(dataset);
  H5Tclose(type);
  H5Sclose(space);
  H5Fclose(file);
}

// A `video` dataset of `count` opaque records of `record` bytes with no data written: the file
// stays a few KB whatever the record size claims (the hostile-size tests).
inline void write_unwritten_opaque_video(const std::filesystem::path& path, hsize_t count,
                                         std::size_t record) {
  const hid_t file = H5Fcreate(path.string().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ccl::require(file >= 0, "write_unwritten_opaque_video: cannot create ", path.string());
  const hid_t space = H5Screate_simple(1, &count, nullptr);
  const hid_t type = H5Tcreate(H5T_OPAQUE, record);
  const hid_t dataset =
      H5Dcreate2(file, "video", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const bool created = dataset >= 0;
  if (created) H5Dclose(dataset);
  H5Tclose(type);
  H5Sclose(space);
  H5Fclose(file);
  ccl::require(created, "write_unwritten_opaque_video: cannot create the dataset");
}

}  // namespace ccl::test
