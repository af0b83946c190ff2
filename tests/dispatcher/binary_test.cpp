// The real dspm-dispatcher binary: start on 127.0.0.1:0, find the port in its log, join,
// SIGTERM, exit 0.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "client.hpp"
#include "tempdir.hpp"

using namespace dspm::dispatcher;
using namespace dspm::dispatcher::test;
using namespace std::chrono_literals;

namespace {

// The dispatcher as a child process, its stderr in a pipe; killed if still running at the end.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDERR_FILENO);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads the log until a line matches @re; its first group, or nullopt on timeout / EOF.
  std::optional<std::string> wait_line(const std::regex& re, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::size_t nl;
      while ((nl = buf_.find('\n')) != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        log_ += line + "\n";
        std::smatch m;
        if (std::regex_search(line, m, re)) return m.size() > 1 ? m[1].str() : line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{out_, POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char tmp[4096];
      ssize_t n = ::read(out_, tmp, sizeof(tmp));
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // The exit status, or nullopt if it is still running after @timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = st;
        return st;
      }
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  const std::string& log() const { return log_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
  std::string log_;
  std::optional<int> status_;
};

}  // namespace

TEST(Binary, ServesAndStopsOnSigterm) {
  TempDir dir;
  auto key_file = dir.path() / "cluster.key";
  {
    std::ofstream k(key_file);
    k << std::string(32, 'k') << "\n";  // test_key()
  }
  ::chmod(key_file.c_str(), 0600);
  Child child({DSPM_DISPATCHER_BINARY, "--listen", "127.0.0.1:0", "--transport", "tcp", "--state",
               (dir.path() / "state.db").string(), "--key-file", key_file.string(),
               "--heartbeat-ms", "100", "--suspect-ms", "1000", "--dead-ms", "3000"});
  auto port = child.wait_line(std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"), 5000ms);
  ASSERT_TRUE(port) << child.log();
  {
    Client c(static_cast<std::uint16_t>(std::stoi(*port)));
    auto r = join(c, test_key(), make_hello(1));
    ASSERT_TRUE(r.accept) << child.log();
    EXPECT_EQ(r.accept->node_id, 1u);
    EXPECT_EQ(r.accept->heartbeat_ms, 100u);
    EXPECT_TRUE(c.recv_a<NodeTable>());
    ASSERT_TRUE(child.wait_line(std::regex("node 1 joined from 127\\.0\\.0\\.1:"), 2000ms))
        << child.log();
    child.signal(SIGTERM);
    EXPECT_TRUE(c.closed_by_server());
  }
  auto status = child.wait(2000ms);
  ASSERT_TRUE(status) << "still running 2 s after SIGTERM\n" << child.log();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_TRUE(child.wait_line(std::regex("shut down$"), 1000ms)) << child.log();
}

// The key file's mode is the one of the file the key is read from (fstat of that descriptor):
// group or other access is a warning, a symbolic link counts as its target, and a FIFO is
// refused at once instead of blocking the start.
TEST(Binary, KeyFileModeIsThatOfTheFileRead) {
  TempDir dir;
  const std::string key(32, 'k');
  auto start = [&](const std::string& key_file) {
    return std::make_unique<Child>(
        std::vector<std::string>{DSPM_DISPATCHER_BINARY, "--listen", "127.0.0.1:0", "--state",
                                 (dir.path() / "state.db").string(), "--key-file", key_file});
  };
  auto stop = [](Child& child) {
    child.signal(SIGTERM);
    auto status = child.wait(2000ms);
    ASSERT_TRUE(status) << child.log();
    EXPECT_EQ(WEXITSTATUS(*status), 0) << child.log();
  };

  const std::string open_key = dir.write("open.key", key + "\n", 0640);
  auto child = start(open_key);
  ASSERT_TRUE(child->wait_line(std::regex("warning: key file .*open\\.key is accessible to group "
                                          "or others$"),
                               5000ms))
      << child->log();
  ASSERT_TRUE(child->wait_line(std::regex("listening on "), 5000ms)) << child->log();
  stop(*child);

  const std::string link = dir / "link.key";
  ASSERT_EQ(::symlink(dir.write("private.key", key, 0600).c_str(), link.c_str()), 0);
  child = start(link);
  ASSERT_TRUE(child->wait_line(std::regex("listening on "), 5000ms)) << child->log();
  EXPECT_EQ(child->log().find("warning"), std::string::npos) << child->log();
  stop(*child);

  const std::string fifo = dir / "fifo.key";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  child = start(fifo);
  ASSERT_TRUE(
      child->wait_line(std::regex("error: key file .*fifo\\.key: not a regular file"), 5000ms))
      << child->log();
  auto status = child->wait(2000ms);
  ASSERT_TRUE(status) << child->log();
  EXPECT_EQ(WEXITSTATUS(*status), 1);
}

// Without an RDMA device (the usual host) the rdma transport fails at once with a message
// that says so; where there is one, it serves and stops on SIGTERM like TCP.
TEST(Binary, RdmaServesOrSaysWhy) {
  TempDir dir;
  auto key_file = dir.path() / "cluster.key";
  {
    std::ofstream k(key_file);
    k << std::string(32, 'k') << "\n";
  }
  ::chmod(key_file.c_str(), 0600);
  Child child({DSPM_DISPATCHER_BINARY, "--listen", "127.0.0.1:0", "--transport", "rdma", "--state",
               (dir.path() / "state.db").string(), "--key-file", key_file.string()});
  auto line = child.wait_line(std::regex("(listening on .* \\(rdma\\)|error: .*rdma.*)"), 5000ms);
  ASSERT_TRUE(line) << child.log();
  if (line->find("listening") != std::string::npos) {
    child.signal(SIGTERM);
    auto status = child.wait(2000ms);
    ASSERT_TRUE(status) << child.log();
    EXPECT_EQ(WEXITSTATUS(*status), 0);
    return;
  }
  auto status = child.wait(2000ms);
  ASSERT_TRUE(status) << child.log();
  EXPECT_EQ(WEXITSTATUS(*status), 1) << child.log();
}

#ifdef DSPM_WIRE_PROBE_BINARY
// dspm-wire-probe against the real binary over TCP: join, rejoin with the same id, wrong key
// refused, garbage survived.  (The same over RDMA runs in VMs: vm_transport_test.sh.)
TEST(Binary, WireProbeOverTcp) {
  TempDir dir;
  auto key_file = dir.path() / "cluster.key";
  auto wrong_file = dir.path() / "wrong.key";
  {
    std::ofstream k(key_file);
    k << std::string(32, 'k') << "\n";
    std::ofstream w(wrong_file);
    w << std::string(32, 'w') << "\n";
  }
  ::chmod(key_file.c_str(), 0600);
  Child disp({DSPM_DISPATCHER_BINARY, "--listen", "127.0.0.1:0", "--transport", "tcp", "--state",
              (dir.path() / "state.db").string(), "--key-file", key_file.string()});
  auto port = disp.wait_line(std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"), 5000ms);
  ASSERT_TRUE(port) << disp.log();
  std::string connect = "127.0.0.1:" + *port;
  // Runs the probe to its end while draining the dispatcher's log; its exit status.
  auto probe = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {DSPM_WIRE_PROBE_BINARY, "--transport", "tcp", "--connect", connect});
    Child p(args);
    for (int i = 0; i < 1000; ++i) {
      if (auto st = p.wait(10ms)) return WIFEXITED(*st) ? WEXITSTATUS(*st) : 128;
      // The garbage makes the dispatcher log a line per message: drain it faster than
      // it comes, or the dispatcher blocks on a full pipe and the probe times out.
      disp.wait_line(std::regex("^$"), 20ms);
    }
    return -1;
  };
  const std::string uuid = "00112233445566778899aabbccddeeff";
  EXPECT_EQ(probe({"join", "--key-file", key_file.string(), "--uuid", uuid}), 0);
  EXPECT_EQ(probe({"join", "--key-file", key_file.string(), "--uuid", uuid}), 0);
  EXPECT_EQ(probe({"join", "--key-file", wrong_file.string()}), 1);
  EXPECT_EQ(probe({"join", "--key-file", wrong_file.string(), "--auth-anyway"}), 1);
  // The probe loop may have read the line already: look in everything read so far.
  disp.wait_line(std::regex("refused join from .*wrong cluster key"), 500ms);
  EXPECT_TRUE(std::regex_search(
      disp.log(), std::regex("refused join from 127\\.0\\.0\\.1:.*wrong cluster key")))
      << disp.log();
  EXPECT_EQ(probe({"garbage", "--count", "300", "--seed", "5", "--key-file", key_file.string(),
                   "--wait-ms", "2"}),
            0);
  disp.signal(SIGTERM);
  auto status = disp.wait(2000ms);
  ASSERT_TRUE(status) << disp.log();
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}
#endif
