#pragma once
// Checkpoints: io::Checkpoint (save/load of modules, optimisers, schedules, generators and
// counters), its file format, the atomic file writer and the CRC-32 it uses.

#include <ccl/io/atomic_file.hpp>
#include <ccl/io/byte_stream.hpp>
#include <ccl/io/checkpoint.hpp>
#include <ccl/io/checkpoint_format.hpp>
#include <ccl/io/checkpoint_sections.hpp>
#include <ccl/io/crc32.hpp>
