// SPDX-License-Identifier: MIT
// The real dspm-dispatcher binary: start on 127.0.0.1:0, find the port in its log, join,
// SIGTERM, exit 0.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

// The value of $JOURNAL_STREAM that makes the child's stderr count as the journal.
constexpr const char* journal_is_stderr = "@stderr";

// The dispatcher as a child process, its stderr in a pipe; killed if still running at the end.
// @env: NAME=VALUE added to its environment; JOURNAL_STREAM=@stderr names its stderr pipe.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0) throw std::system_error(errno, std::generic_category());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDERR_FILENO);
      for (const auto& e : env) {
        const auto eq = e.find('=');
        std::string value = e.substr(eq + 1);
        if (value == journal_is_stderr) {
          struct stat st {};
          ::fstat(STDERR_FILENO, &st);
          value = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
        }
        ::setenv(e.substr(0, eq).c_str(), value.c_str(), 1);
      }
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

namespace {

// Arguments of a dispatcher on 127.0.0.1:0 with a key and state in @dir.
std::vector<std::string> local_args(const TempDir& dir) {
  const std::string key_file = dir.write("cluster.key", std::string(32, 'k') + "\n", 0600);
  return {DSPM_DISPATCHER_BINARY, "--listen",   "127.0.0.1:0", "--state",
          dir / "state.db",       "--key-file", key_file};
}

void stop(Child& child) {
  child.signal(SIGTERM);
  auto status = child.wait(2000ms);
  ASSERT_TRUE(status) << child.log();
  EXPECT_TRUE(WIFEXITED(*status)) << child.log();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << child.log();
}

}  // namespace

// Usage errors exit 2 (as dspm-admin's), whatever CLI11's own code, and name the option.
TEST(Binary, UsageErrorsExit2NamingTheOption) {
  TempDir dir;
  const std::string bad_config = dir.write("bad.conf", "dead-ms = 2000\n", 0644);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--transport", "udp"}, "--transport: udp not in"},
      {{"--listen", "1.2.3:4"}, "--listen: address '1.2.3:4'"},
      {{"--suspect-ms", "500", "--heartbeat-ms", "500"}, "--suspect-ms: must be larger"},
      {{"--dead-ms", "2000"}, "--dead-ms: must be larger than --suspect-ms"},
      {{"--chunk-size", "12345678"}, "--chunk-size: must be a power of 2"},
      {{"--no-such-option"}, "--no-such-option"},
      {{"--config", dir / "missing.conf"}, "missing.conf"},
      {{"--config", bad_config}, "--dead-ms: must be larger than --suspect-ms"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv{DSPM_DISPATCHER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    Child child(argv);
    auto status = child.wait(5000ms);
    child.wait_line(std::regex("^$"), 100ms);  // collect the output
    ASSERT_TRUE(status) << args[0] << ": still running";
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 2) << args[0] << "\n" << child.log();
    EXPECT_NE(child.log().find(message), std::string::npos) << child.log();
  }
}

// Errors found at start name the option that leads to them (exit 1).
TEST(Binary, StartErrorsNameTheOption) {
  TempDir dir;
  const std::string not_state = dir.write("not-a-db", std::string(4096, 'x'), 0600);
  const std::string key_file = dir.write("cluster.key", std::string(32, 'k'), 0600);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--key-file", dir / "missing.key", "--state", dir / "s.db"}, "(check --key-file)"},
      {{"--key-file", key_file, "--state", not_state}, "(check --state)"},
      {{"--key-file", key_file, "--state", dir / "s2.db", "--listen", "192.0.2.1:7470"},
       "(check --listen)"},
  };
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv{DSPM_DISPATCHER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    Child child(argv);
    auto line = child.wait_line(std::regex("error: .*"), 5000ms);
    ASSERT_TRUE(line) << child.log();
    EXPECT_NE(line->find(message), std::string::npos) << *line;
    auto status = child.wait(2000ms);
    ASSERT_TRUE(status) << child.log();
    EXPECT_EQ(WEXITSTATUS(*status), 1) << child.log();
  }
}

TEST(Binary, Version) {
  Child child({DSPM_DISPATCHER_BINARY, "--version"});
  auto status = child.wait(5000ms);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// Options from --config; the command line wins over the file.
TEST(Binary, ConfigFile) {
  TempDir dir;
  auto args = local_args(dir);
  const std::string config =
      dir.write("dispatcher.conf",
                "# a comment\nlisten = \"127.0.0.1:0\"\ntransport = \"tcp\"\nheartbeat-ms = 200\n"
                "suspect-ms = 900\ndead-ms = 5000\n",
                0644);
  args.insert(args.end(), {"--config", config, "--dead-ms", "4000"});
  Child child(args);
  auto line = child.wait_line(std::regex("listening on 127\\.0\\.0\\.1:.*"), 5000ms);
  ASSERT_TRUE(line) << child.log();
  EXPECT_NE(line->find("heartbeat 200 ms, suspect after 900 ms, dead after 4000 ms"),
            std::string::npos)
      << *line;
  stop(child);
}

// With stderr the journal's stream: a priority prefix and no timestamp of its own.  A
// JOURNAL_STREAM naming another file (stderr redirected since) changes nothing.
TEST(Binary, JournalPriorityPrefixes) {
  TempDir dir;
  {
    Child child(local_args(dir), {std::string("JOURNAL_STREAM=") + journal_is_stderr});
    ASSERT_TRUE(child.wait_line(std::regex("^<5>listening on 127\\.0\\.0\\.1:"), 5000ms))
        << child.log();
    stop(child);
    EXPECT_TRUE(child.wait_line(std::regex("^<5>shut down$"), 1000ms)) << child.log();
  }
  {
    Child child(local_args(dir), {"JOURNAL_STREAM=1:1"});
    ASSERT_TRUE(child.wait_line(
        std::regex("^[0-9-]+T[0-9:.]+Z dspm-dispatcher: listening on 127\\.0\\.0\\.1:"), 5000ms))
        << child.log();
    stop(child);
  }
}

#ifdef DSPM_HAVE_LIBSYSTEMD
// Type=notify: READY=1 on $NOTIFY_SOCKET once it listens.
TEST(Binary, NotifiesReady) {
  TempDir dir;
  const std::string path = dir / "notify";
  int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(sun.sun_path));
  path.copy(sun.sun_path, path.size());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)), 0);
  Child child(local_args(dir), {"NOTIFY_SOCKET=" + path});
  pollfd pfd{sock, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << child.log();
  char buf[512];
  ssize_t n = ::recv(sock, buf, sizeof(buf), 0);
  ::close(sock);
  ASSERT_GT(n, 0);
  const std::string msg(buf, static_cast<std::size_t>(n));
  EXPECT_NE(msg.find("READY=1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("STATUS=serving on 127.0.0.1:"), std::string::npos) << msg;
  stop(child);
}
#endif
