// SPDX-License-Identifier: MIT
// libdspm - C++20 interface to dspm, distributed shared persistent memory.
//
//   dspm::Device dev;                                   // opens /dev/dspm
//   dspm::Dataset ds = dev.open_or_create({.name = "hello", .length = 4096});
//   std::memcpy(ds.bytes().data(), "hi", 2);            // plain stores into the mapping
//   auto [pages, version] = ds.commit();                // atomic, durable, visible to all
//
// Every failing call throws std::system_error(errno, std::generic_category(), "<what failed>"),
// so e.what() reads like "create foo: File exists" and e.code() == std::errc::file_exists.
// The library keeps no global state; objects are not synchronised (one thread at a time each).
#pragma once

#include <linux/dspm.h>

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "dspm/abi.hpp"
#include "dspm/types.hpp"

namespace dspm {

// Version of libdspm, "MAJOR.MINOR.PATCH".
DSPM_API std::string_view library_version() noexcept;

class Dataset;

// Attempts transact() makes by default before it gives up with EAGAIN.
inline constexpr unsigned transact_attempts_default = 1000;

// What transact() needs of @tx: Dataset has it; tests pass a fake.
template <class T>
concept Transactional = requires(T& tx) {
  tx.begin();
  { tx.commit_validated() } -> std::same_as<CommitResult>;
  tx.abort();
};

// Runs @body as a validated transaction of @tx until it commits: begin(), body(),
// commit_validated(); after a conflict (EAGAIN) abort() and run @body again.
//
// Why a loop: a validated commit fails, committing nothing, when a page the transaction read or
// wrote was committed by someone else meanwhile, so read-modify-write of shared data (a counter,
// a transfer between accounts) is only safe when it is retried from a fresh snapshot.  @body must
// therefore read what it depends on through the mapping, inside the call, every time, and do
// nothing outside the dataset that cannot be repeated.  It must not commit or abort itself.
//
// Throws std::system_error(EAGAIN) after @max_attempts conflicts, EINVAL when @max_attempts is 0,
// and passes on any other error of begin() or the commit, and any exception of @body.  Whatever
// it throws, it aborts first: no uncommitted byte of the transaction is left behind.
template <Transactional Tx, std::invocable F>
TransactResult transact(Tx& tx, F&& body, unsigned max_attempts = transact_attempts_default) {
  if (max_attempts == 0)
    throw std::system_error(EINVAL, std::generic_category(), "transact: max_attempts is 0");
  for (unsigned attempt = 1;; ++attempt) {
    tx.begin();
    try {
      body();
    } catch (...) {
      tx.abort();
      throw;
    }
    try {
      return {tx.commit_validated(), attempt - 1};
    } catch (const std::system_error& e) {
      tx.abort();
      if (e.code() != std::errc::resource_unavailable_try_again || attempt == max_attempts) throw;
    } catch (...) {
      tx.abort();
      throw;
    }
  }
}

// The control device: a node's backing store and its dataset namespace.  Move-only.
class DSPM_API Device {
 public:
  // Opens the control device (read-write, close-on-exec).
  explicit Device(std::string path = std::string(default_device_path));
  Device(Device&& other) noexcept;
  Device& operator=(Device&& other) noexcept;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device();

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }

  // DSPM_IOC_GET_INFO; works while detached (attached == false).
  Info info() const;

  // Attaches an fsdax pmem block device (CAP_SYS_ADMIN).  Without .format the device must
  // already hold a dspm layout (ENODATA otherwise); the redo log is replayed.
  void attach(const std::string& device_path, const AttachOptions& options = {});
  // Attaches a volatile, empty DRAM backend of @bytes (8 MiB..4 GiB), for development.
  void attach_dram(std::uint64_t bytes);
  // Detaches the backend (CAP_SYS_ADMIN); EBUSY while a dataset fd is open.
  void detach();

  // Creates a dataset, zero-filled, owned by the caller; returns its id.
  std::uint64_t create(const CreateOptions& options);
  // Opens and maps a dataset (permission checked against its owner, group and mode).
  Dataset open(std::string_view name, Access access);
  // Opens @options.name read-write, creating it first when it does not exist.  An existing
  // dataset is opened as it is: its length, mode, model and replicas may differ from @options.
  Dataset open_or_create(const CreateOptions& options);
  // Deletes a dataset (its owner or CAP_SYS_ADMIN); EBUSY while any fd of it is open.
  void remove(std::string_view name);
  // Every dataset, in the kernel's order.
  std::vector<DatasetInfo> list() const;

  // Joins the cluster of the dispatcher at @options.dispatcher (CAP_SYS_ADMIN; needs an
  // attached device, whose format UUID is the node's identity).  Both sides prove the cluster
  // key; the node then keeps the link alive and reconnects by itself.  Returns this node's id.
  // The arguments are checked before the kernel sees them (EINVAL, see abi::make_join()).
  std::uint32_t join(const JoinOptions& options);
  // Leaves the cluster (CAP_SYS_ADMIN); ENOTCONN when not in one.
  void leave();
  // The node table as the dispatcher last sent it; ENOTCONN when not in a cluster.
  Cluster nodes() const;
  // Where the dataset's chunks live, from the dispatcher; ENOTCONN when not in a cluster.
  Placement placement(std::string_view name) const;

 private:
  int fd_ = -1;
  std::string path_;
};

// An open dataset: its fd and a MAP_SHARED mapping of all of it.  Move-only.
//
// Stores through bytes() go to a private shadow copy of each page for this Dataset (this
// fd): nobody else sees them until commit(), which makes them atomically durable and visible
// to every fd on every node.  abort() drops them.  Destroying the Dataset unmaps and closes
// it, and the kernel then DROPS every byte that was written but not committed.
class DSPM_API Dataset {
 public:
  // Takes ownership of a dataset fd (e.g. one received over a Unix socket), learns its
  // length with DSPM_IOC_STAT and maps it.  @access must match how the fd was opened.  On
  // failure the fd is closed and std::system_error is thrown.
  static Dataset adopt(int fd, Access access);

  Dataset(Dataset&& other) noexcept;
  Dataset& operator=(Dataset&& other) noexcept;
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;
  ~Dataset();

  int fd() const noexcept { return fd_; }
  const std::string& name() const noexcept { return name_; }
  Access access() const noexcept { return access_; }
  bool writable() const noexcept { return access_ == Access::read_write; }
  // The dataset's length in bytes (the mapping is rounded up to whole pages).
  std::uint64_t length() const noexcept { return length_; }

  // Exactly length() bytes.  Writing through a read-only Dataset raises SIGSEGV.
  std::span<std::byte> bytes() noexcept { return {data_, static_cast<std::size_t>(length_)}; }
  std::span<const std::byte> bytes() const noexcept {
    return {data_, static_cast<std::size_t>(length_)};
  }

  // The object of type T at byte @offset of the mapping.  Throws std::system_error: ERANGE
  // when it does not fit inside length(), EINVAL when @offset is misaligned for T.
  template <class T>
  T& as(std::size_t offset = 0) {
    require_viewable<T>();
    check_view(offset, sizeof(T), alignof(T));
    return *reinterpret_cast<T*>(data_ + offset);
  }
  template <class T>
  const T& as(std::size_t offset = 0) const {
    require_viewable<T>();
    check_view(offset, sizeof(T), alignof(T));
    return *reinterpret_cast<const T*>(data_ + offset);
  }
  // @count objects of type T starting at byte @offset, checked like as().
  template <class T>
  std::span<T> as_span(std::size_t offset, std::size_t count) {
    require_viewable<T>();
    check_view(offset, checked_size(sizeof(T), count), alignof(T));
    return {reinterpret_cast<T*>(data_ + offset), count};
  }

  // Commits every uncommitted byte of this Dataset (atomic and durable on return).  On error
  // nothing is committed and the dirty bytes are kept: EAGAIN (conflict: retry), EIO
  // (replication degree cannot be met), EFBIG (larger than the log), EBADF (read-only).
  CommitResult commit();
  // Commits only the uncommitted bytes inside @ranges (byte precise).  Ranges are validated
  // and merged first; an empty span commits nothing (pages == 0, version unchanged).
  CommitResult commit(std::span<const Range> ranges);
  // Drops every uncommitted byte; returns the dirty pages dropped entirely.
  std::uint64_t abort();
  // Drops the uncommitted bytes inside @ranges; an empty span drops nothing.
  std::uint64_t abort(std::span<const Range> ranges);

  // Starts a validated transaction (DSPM_IOC_BEGIN) of an MRMW dataset: from now on the first
  // access to a page, a read too, takes a private snapshot of it, so everything read is as
  // committed then.  EBADF when read-only.  commit_validated() or abort() end it.  On an MRSW
  // dataset it is own() of the whole dataset.
  void begin();
  // MRSW: takes exclusive write ownership of the pages @ranges touch (the whole dataset when
  // empty), waiting while another fd on any node owns one of them; readers go on meanwhile.
  // Only an owner may commit (EPERM otherwise) and its commit never conflicts.  The next
  // commit() or abort(), or destroying the Dataset, gives the ownership up.  EBUSY when this
  // Dataset owns ranges already, EBADF when read-only, EINVAL on an MRMW dataset.
  void own(std::span<const Range> ranges = {});
  // own() without waiting: false, owning nothing, when another fd owns one of the pages.
  bool try_own(std::span<const Range> ranges = {});
  // DSPM_IOC_BARRIER: returns once every node that has this dataset open has entered the
  // same barrier round (several callers on one node enter the same round).
  BarrierResult barrier();
  // Commits every uncommitted byte with DSPM_COMMIT_VALIDATE: EAGAIN, committing nothing and
  // keeping the dirty bytes, when a page the transaction read or wrote was committed by someone
  // else since (abort() and retry); otherwise like commit().  Ends the transaction on success.
  CommitResult commit_validated();
  // dspm::transact() on this dataset: runs @body in validated transactions until one commits.
  template <std::invocable F>
  TransactResult transact(F&& body, unsigned max_attempts = transact_attempts_default) {
    return dspm::transact(*this, std::forward<F>(body), max_attempts);
  }

  // DSPM_IOC_STAT.
  Stat stat() const;

 private:
  template <class T>
  static constexpr void require_viewable() {
    static_assert(std::is_trivially_copyable_v<T>, "dspm::Dataset: T must be trivially copyable");
  }

  friend class Device;
  Dataset(int fd, Access access, std::string_view name);
  void require_writable(const char* op) const;
  void check_view(std::size_t offset, std::size_t size, std::size_t align) const;
  static std::size_t checked_size(std::size_t element, std::size_t count);
  CommitResult do_commit(std::span<const dspm_range> ranges, std::uint32_t flags = 0);
  bool do_own(std::span<const Range> ranges, std::uint32_t flags);
  std::uint64_t do_abort(std::span<const dspm_range> ranges);
  void release() noexcept;

  int fd_ = -1;
  Access access_ = Access::read_only;
  std::string name_;
  std::uint64_t length_ = 0;
  std::byte* data_ = nullptr;
  std::size_t map_length_ = 0;
};

// A cluster-wide lock named by (dataset, key) (DSPM_IOC_LOCK/UNLOCK): one fd in the whole
// cluster holds it at a time.  A BasicLockable and Lockable, so std::lock_guard,
// std::unique_lock and std::scoped_lock are its RAII owners:
//
//   dspm::Mutex m(dataset, 7);
//   std::lock_guard hold(m);   // waits for the lock; unlocked when `hold` goes
//
// The lock belongs to the Dataset's fd, which must outlive the Mutex and every lock taken
// through it (closing the fd releases its locks).  A lock orders nothing by itself: commit what
// it protects before unlocking.  lock() and try_lock() throw EDEADLK when the fd holds the lock
// already; unlock() throws EPERM when it does not.
class DSPM_API Mutex {
 public:
  Mutex(const Dataset& dataset, std::uint64_t key) noexcept : fd_(dataset.fd()), key_(key) {}

  void lock();
  bool try_lock();
  void unlock();
  std::uint64_t key() const noexcept { return key_; }

 private:
  int fd_;
  std::uint64_t key_;
};

}  // namespace dspm
