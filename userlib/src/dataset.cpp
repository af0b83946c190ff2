// SPDX-License-Identifier: MIT
// dspm::Dataset: a dataset fd and its mapping.
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "dspm/dspm.hpp"
#include "syscall.hpp"

namespace dspm {
using detail::do_ioctl;
using detail::fail;

Dataset Dataset::adopt(int fd, Access access) {
  return Dataset(fd, access, {});
}

// Owns @fd from the first line: any failure closes it.
Dataset::Dataset(int fd, Access access, std::string_view name) : fd_(fd), access_(access) {
  try {
    name_ = name;
    if (fd_ < 0) fail(EBADF, "adopt dataset fd " + std::to_string(fd_));
    const Stat st = stat();
    name_ = st.name;
    length_ = st.length;
    const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    if (length_ == 0) fail(EPROTO, "map " + name_ + ": the kernel reports length 0");
    if (length_ > std::numeric_limits<std::size_t>::max() - page)
      fail(EOVERFLOW, "map " + name_ + ": " + std::to_string(length_) +
                          " bytes do not fit in the address space");
    map_length_ = static_cast<std::size_t>((length_ + page - 1) / page * page);
    const int prot = access_ == Access::read_write ? PROT_READ | PROT_WRITE : PROT_READ;
    void* addr = ::mmap(nullptr, map_length_, prot, MAP_SHARED, fd_, 0);
    if (addr == MAP_FAILED) fail(errno, "map " + name_);
    data_ = static_cast<std::byte*>(addr);
  } catch (...) {
    release();
    throw;
  }
}

Dataset::Dataset(Dataset&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      access_(other.access_),
      name_(std::move(other.name_)),
      length_(std::exchange(other.length_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      map_length_(std::exchange(other.map_length_, 0)) {}

Dataset& Dataset::operator=(Dataset&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    access_ = other.access_;
    name_ = std::move(other.name_);
    length_ = std::exchange(other.length_, 0);
    data_ = std::exchange(other.data_, nullptr);
    map_length_ = std::exchange(other.map_length_, 0);
  }
  return *this;
}

Dataset::~Dataset() {
  release();
}

void Dataset::release() noexcept {
  if (data_) ::munmap(data_, map_length_);
  if (fd_ >= 0) ::close(fd_);
  data_ = nullptr;
  map_length_ = 0;
  length_ = 0;
  fd_ = -1;
}

Stat Dataset::stat() const {
  auto arg = abi::make_stat();
  if (do_ioctl(fd_, DSPM_IOC_STAT, arg) < 0) fail(errno, "stat " + name_);
  return abi::decode_stat(arg);
}

void Dataset::require_writable(const char* op) const {
  if (access_ != Access::read_write)
    fail(EBADF, std::string(op) + " " + name_ + ": the dataset is open read-only");
}

CommitResult Dataset::commit() {
  return do_commit({});
}

CommitResult Dataset::commit(std::span<const Range> ranges) {
  require_writable("commit");
  if (ranges.empty()) return {0, stat().version};
  const auto normal = abi::normalize_ranges(ranges, length_, "commit " + name_);
  return do_commit(normal);
}

CommitResult Dataset::commit_validated() {
  return do_commit({}, DSPM_COMMIT_VALIDATE);
}

CommitResult Dataset::do_commit(std::span<const dspm_range> ranges, std::uint32_t flags) {
  require_writable("commit");
  auto arg = abi::make_commit(ranges, flags);
  if (do_ioctl(fd_, DSPM_IOC_COMMIT, arg) < 0) fail(errno, "commit " + name_);
  return {arg.pages, arg.version};
}

void Dataset::begin() {
  require_writable("begin");
  auto arg = abi::make_begin();
  if (do_ioctl(fd_, DSPM_IOC_BEGIN, arg) < 0) fail(errno, "begin " + name_);
}

void Dataset::own(std::span<const Range> ranges) {
  do_own(ranges, 0);
}

bool Dataset::try_own(std::span<const Range> ranges) {
  return do_own(ranges, DSPM_BEGIN_NONBLOCK);
}

bool Dataset::do_own(std::span<const Range> ranges, std::uint32_t flags) {
  require_writable("own");
  std::vector<dspm_range> normal;
  if (!ranges.empty()) normal = abi::normalize_ranges(ranges, length_, "own " + name_);
  auto arg = abi::make_begin_owning(normal, flags);
  if (do_ioctl(fd_, DSPM_IOC_BEGIN, arg) == 0) return true;
  if (errno == EAGAIN && (flags & DSPM_BEGIN_NONBLOCK) != 0) return false;
  fail(errno, "own " + name_);
}

BarrierResult Dataset::barrier() {
  auto arg = abi::make_barrier();
  if (do_ioctl(fd_, DSPM_IOC_BARRIER, arg) < 0) fail(errno, "barrier on " + name_);
  return {arg.round, arg.nodes};
}

void Mutex::lock() {
  auto arg = abi::make_lock(key_);
  if (do_ioctl(fd_, DSPM_IOC_LOCK, arg) < 0) fail(errno, "lock " + std::to_string(key_));
}

bool Mutex::try_lock() {
  auto arg = abi::make_lock(key_, DSPM_LOCK_NONBLOCK);
  if (do_ioctl(fd_, DSPM_IOC_LOCK, arg) == 0) return true;
  if (errno == EAGAIN) return false;
  fail(errno, "lock " + std::to_string(key_));
}

void Mutex::unlock() {
  auto arg = abi::make_lock(key_);
  if (do_ioctl(fd_, DSPM_IOC_UNLOCK, arg) < 0) fail(errno, "unlock " + std::to_string(key_));
}

std::uint64_t Dataset::abort() {
  return do_abort({});
}

std::uint64_t Dataset::abort(std::span<const Range> ranges) {
  require_writable("abort");
  if (ranges.empty()) return 0;
  const auto normal = abi::normalize_ranges(ranges, length_, "abort " + name_);
  return do_abort(normal);
}

std::uint64_t Dataset::do_abort(std::span<const dspm_range> ranges) {
  require_writable("abort");
  auto arg = abi::make_abort(ranges);
  if (do_ioctl(fd_, DSPM_IOC_ABORT, arg) < 0) fail(errno, "abort " + name_);
  return arg.pages;
}

void Dataset::check_view(std::size_t offset, std::size_t size, std::size_t align) const {
  if (offset > length_ || size > length_ - offset)
    fail(ERANGE, "view of " + name_ + ": bytes " + std::to_string(offset) + ".." +
                     std::to_string(offset) + "+" + std::to_string(size) + " exceed its " +
                     std::to_string(length_) + " bytes");
  if (reinterpret_cast<std::uintptr_t>(data_ + offset) % align != 0)
    fail(EINVAL, "view of " + name_ + ": offset " + std::to_string(offset) + " is not aligned to " +
                     std::to_string(align));
}

std::size_t Dataset::checked_size(std::size_t element, std::size_t count) {
  if (element != 0 && count > std::numeric_limits<std::size_t>::max() / element)
    fail(ERANGE, "dataset view: " + std::to_string(count) + " elements overflow");
  return element * count;
}

}  // namespace dspm
