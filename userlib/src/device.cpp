// SPDX-License-Identifier: MIT
// dspm::Device: the control fd.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "dspm/dspm.hpp"
#include "syscall.hpp"

namespace dspm {
using detail::do_ioctl;
using detail::fail_errno;

std::string_view library_version() noexcept {
  return DSPM_LIBRARY_VERSION;
}

Device::Device(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) fail_errno("open " + path_);
}

Device::Device(Device&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

Device& Device::operator=(Device&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

Device::~Device() {
  if (fd_ >= 0) ::close(fd_);
}

Info Device::info() const {
  auto arg = abi::make_info();
  if (do_ioctl(fd_, DSPM_IOC_GET_INFO, arg) < 0) fail_errno("get info");
  return abi::decode_info(arg);
}

void Device::attach(const std::string& device_path, const AttachOptions& options) {
  auto arg = abi::make_attach(device_path, options);
  if (do_ioctl(fd_, DSPM_IOC_ATTACH, arg) < 0) fail_errno("attach " + device_path);
}

void Device::attach_dram(std::uint64_t bytes) {
  auto arg = abi::make_attach_dram(bytes);
  if (do_ioctl(fd_, DSPM_IOC_ATTACH, arg) < 0) fail_errno("attach DRAM");
}

void Device::detach() {
  auto arg = abi::make_detach();
  if (do_ioctl(fd_, DSPM_IOC_DETACH, arg) < 0) fail_errno("detach");
}

std::uint64_t Device::create(const CreateOptions& options) {
  auto arg = abi::make_create(options);
  if (do_ioctl(fd_, DSPM_IOC_CREATE, arg) < 0) fail_errno("create " + options.name);
  return arg.id;
}

Dataset Device::open(std::string_view name, Access access) {
  auto arg = abi::make_open(name, access);
  const int fd = do_ioctl(fd_, DSPM_IOC_OPEN, arg);
  if (fd < 0) fail_errno("open " + std::string(name));
  return Dataset(fd, access, name);
}

Dataset Device::open_or_create(const CreateOptions& options) {
  // Two rounds cover a concurrent create (EEXIST) or remove (ENOENT) by someone else.
  for (int round = 0;; ++round) {
    try {
      return open(options.name, Access::read_write);
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::no_such_file_or_directory || round == 2) throw;
    }
    try {
      create(options);
    } catch (const std::system_error& e) {
      if (e.code() != std::errc::file_exists) throw;
    }
  }
}

void Device::remove(std::string_view name) {
  auto arg = abi::make_delete(name);
  if (do_ioctl(fd_, DSPM_IOC_DELETE, arg) < 0) fail_errno("remove " + std::string(name));
}

std::vector<DatasetInfo> Device::list() const {
  return abi::list_with(
      [fd = fd_](dspm_list& arg) { return do_ioctl(fd, DSPM_IOC_LIST, arg) < 0 ? errno : 0; });
}

std::uint32_t Device::join(const JoinOptions& options) {
  auto arg = abi::make_join(options);
  if (do_ioctl(fd_, DSPM_IOC_JOIN, arg) < 0) fail_errno("join " + options.dispatcher);
  return arg.node_id;
}

void Device::leave() {
  auto arg = abi::make_leave();
  if (do_ioctl(fd_, DSPM_IOC_LEAVE, arg) < 0) {
    if (errno == ENOTCONN) fail_errno("leave: this node is not in a cluster");
    fail_errno("leave");
  }
}

Cluster Device::nodes() const {
  return abi::nodes_with(
      [fd = fd_](dspm_nodes& arg) { return do_ioctl(fd, DSPM_IOC_NODES, arg) < 0 ? errno : 0; });
}

Placement Device::placement(std::string_view name) const {
  return abi::placement_with(name, [fd = fd_](dspm_placement& arg) {
    return do_ioctl(fd, DSPM_IOC_PLACEMENT, arg) < 0 ? errno : 0;
  });
}

}  // namespace dspm
