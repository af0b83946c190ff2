// SPDX-License-Identifier: MIT
// dspm-admin command-line parsing and the failure paths of execution, without a device.
#include "cli.hpp"

#include <sys/stat.h>

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace admin = dspm::admin;

namespace {

struct Outcome {
  admin::ParseResult result;
  std::string out;
  std::string err;
};

Outcome parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"dspm-admin"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::ostringstream out, err;
  Outcome o;
  o.result = admin::parse(static_cast<int>(argv.size()), argv.data(), out, err);
  o.out = out.str();
  o.err = err.str();
  return o;
}

admin::Command command(std::initializer_list<const char*> args) {
  auto o = parse(args);
  EXPECT_TRUE(o.result.command.has_value()) << o.err;
  EXPECT_EQ(o.result.exit_code, 0);
  return o.result.command.value_or(admin::Command{});
}

void expect_usage_error(std::initializer_list<const char*> args) {
  const auto o = parse(args);
  EXPECT_FALSE(o.result.command.has_value());
  EXPECT_EQ(o.result.exit_code, 2);
  EXPECT_FALSE(o.err.empty());
}

struct Run {
  int status;
  std::string out;
  std::string err;
};

Run run(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"dspm-admin"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::ostringstream out, err;
  const int status = admin::run(static_cast<int>(argv.size()), argv.data(), out, err);
  return {status, out.str(), err.str()};
}

}  // namespace

TEST(Cli, Info) {
  const auto cmd = command({"info"});
  EXPECT_EQ(cmd.verb, admin::Verb::info);
  EXPECT_EQ(cmd.device, "/dev/dspm");
  EXPECT_FALSE(cmd.json);
}

TEST(Cli, Stats) {
  EXPECT_EQ(command({"stats"}).verb, admin::Verb::stats);
  EXPECT_TRUE(command({"stats", "--json"}).json);
  EXPECT_TRUE(command({"--json", "stats"}).json);
}

TEST(Cli, JsonBeforeOrAfterTheSubcommand) {
  EXPECT_TRUE(command({"--json", "info"}).json);
  EXPECT_TRUE(command({"info", "--json"}).json);
  EXPECT_TRUE(command({"ls", "--json"}).json);
  const auto cmd = command({"stat", "foo", "--json"});
  EXPECT_TRUE(cmd.json);
  EXPECT_EQ(cmd.name, "foo");
}

TEST(Cli, DeviceOverride) {
  EXPECT_EQ(command({"--device", "/tmp/x", "ls"}).device, "/tmp/x");
  EXPECT_EQ(command({"ls", "--device", "/tmp/y"}).device, "/tmp/y");
  EXPECT_EQ(command({"ls", "--device=/tmp/z"}).device, "/tmp/z");
}

TEST(Cli, AttachPath) {
  const auto cmd = command({"attach", "/dev/pmem0"});
  EXPECT_EQ(cmd.verb, admin::Verb::attach);
  EXPECT_EQ(cmd.path, "/dev/pmem0");
  EXPECT_FALSE(cmd.dram_bytes.has_value());
  EXPECT_FALSE(cmd.format);
  EXPECT_TRUE(command({"attach", "--format", "/dev/pmem1"}).format);
}

TEST(Cli, AttachDram) {
  const auto cmd = command({"attach", "--dram", "64M"});
  EXPECT_EQ(cmd.verb, admin::Verb::attach);
  ASSERT_TRUE(cmd.dram_bytes.has_value());
  EXPECT_EQ(*cmd.dram_bytes, 64ULL << 20);
  EXPECT_TRUE(cmd.path.empty());
}

TEST(Cli, AttachNeedsExactlyOneBackend) {
  expect_usage_error({"attach"});
  expect_usage_error({"attach", "--dram", "64M", "/dev/pmem0"});
  expect_usage_error({"attach", "--dram", "64M", "--format"});
  expect_usage_error({"attach", "--dram", "lots"});
  const auto o = parse({"attach"});
  EXPECT_NE(o.err.find("PATH or --dram"), std::string::npos) << o.err;
}

TEST(Cli, Detach) {
  EXPECT_EQ(command({"detach"}).verb, admin::Verb::detach);
}

TEST(Cli, CreateWithDefaults) {
  const auto cmd = command({"create", "foo", "--size", "64K"});
  EXPECT_EQ(cmd.verb, admin::Verb::create);
  EXPECT_EQ(cmd.name, "foo");
  EXPECT_EQ(cmd.size, 64U << 10);
  EXPECT_EQ(cmd.mode, 0600U);
  EXPECT_EQ(cmd.replicas, 1U);
  EXPECT_EQ(cmd.model, dspm::Model::mrmw);
}

TEST(Cli, CreateWithEverything) {
  const auto cmd = command(
      {"create", "bar", "--size", "1G", "--mode", "0644", "--replicas", "3", "--model", "mrsw"});
  EXPECT_EQ(cmd.name, "bar");
  EXPECT_EQ(cmd.size, 1ULL << 30);
  EXPECT_EQ(cmd.mode, 0644U);
  EXPECT_EQ(cmd.replicas, 3U);
  EXPECT_EQ(cmd.model, dspm::Model::mrsw);
  const auto short_opts = command({"create", "baz", "-s", "4096", "-m", "600", "-r", "2"});
  EXPECT_EQ(short_opts.size, 4096U);
  EXPECT_EQ(short_opts.replicas, 2U);
}

TEST(Cli, CreateRejectsBadValues) {
  expect_usage_error({"create", "foo"});                      // --size is required
  expect_usage_error({"create", "--size", "1M"});             // NAME is required
  expect_usage_error({"create", "foo", "--size", "1.5G"});    // garbage size
  expect_usage_error({"create", "foo", "--size", "99999E"});  // overflow
  expect_usage_error({"create", "foo", "--size", "1M", "--mode", "0800"});
  expect_usage_error({"create", "foo", "--size", "1M", "--mode", "1777"});
  expect_usage_error({"create", "foo", "--size", "1M", "--replicas", "0"});
  expect_usage_error({"create", "foo", "--size", "1M", "--replicas", "17"});
  expect_usage_error({"create", "foo", "--size", "1M", "--model", "mwmr"});
  const auto o = parse({"create", "foo", "--size", "lots"});
  EXPECT_NE(o.err.find("size 'lots' is not a number"), std::string::npos) << o.err;
}

TEST(Cli, LsStatRm) {
  EXPECT_EQ(command({"ls"}).verb, admin::Verb::ls);
  auto cmd = command({"stat", "foo"});
  EXPECT_EQ(cmd.verb, admin::Verb::stat);
  EXPECT_EQ(cmd.name, "foo");
  cmd = command({"rm", "bar"});
  EXPECT_EQ(cmd.verb, admin::Verb::rm);
  EXPECT_EQ(cmd.name, "bar");
  expect_usage_error({"stat"});
  expect_usage_error({"rm"});
  expect_usage_error({"rm", "a", "b"});
}

TEST(Cli, JoinWithEverything) {
  const auto cmd = command({"join", "--dispatcher", "10.77.0.1:7470", "--transport", "rdma",
                            "--key-file", "/etc/dspm/cluster.key", "--self", "[fd00::2]:7471"});
  EXPECT_EQ(cmd.verb, admin::Verb::join);
  EXPECT_EQ(cmd.dispatcher, "10.77.0.1:7470");
  EXPECT_EQ(cmd.transport, dspm::Transport::rdma);
  EXPECT_EQ(cmd.key_file, "/etc/dspm/cluster.key");
  EXPECT_EQ(cmd.self, "[fd00::2]:7471");
  EXPECT_FALSE(cmd.json);
}

TEST(Cli, JoinDefaults) {
  const auto cmd = command({"join", "--key-file=k", "--dispatcher=[::1]:7470", "--json"});
  EXPECT_EQ(cmd.verb, admin::Verb::join);
  EXPECT_EQ(cmd.dispatcher, "[::1]:7470");
  EXPECT_EQ(cmd.transport, dspm::Transport::tcp);
  EXPECT_EQ(cmd.key_file, "k");
  EXPECT_TRUE(cmd.self.empty());
  EXPECT_TRUE(cmd.json);
  EXPECT_EQ(command({"join", "--dispatcher", "1.2.3.4:5", "--key-file", "k", "--transport", "TCP"})
                .transport,
            dspm::Transport::tcp);
}

TEST(Cli, JoinRejectsBadArguments) {
  expect_usage_error({"join", "--key-file", "k"});               // --dispatcher is required
  expect_usage_error({"join", "--dispatcher", "1.2.3.4:7470"});  // --key-file is required
  expect_usage_error({"join", "--dispatcher", "garbage", "--key-file", "k"});
  expect_usage_error({"join", "--dispatcher", "1.2.3.4", "--key-file", "k"});  // no port
  expect_usage_error({"join", "--dispatcher", "1.2.3.4:0", "--key-file", "k"});
  expect_usage_error({"join", "--dispatcher", "1.2.3.4:65536", "--key-file", "k"});
  expect_usage_error({"join", "--dispatcher", "::1:7470", "--key-file", "k"});
  expect_usage_error({"join", "--dispatcher", "host.example:7470", "--key-file", "k"});
  expect_usage_error(
      {"join", "--dispatcher", "1.2.3.4:7470", "--key-file", "k", "--transport", "udp"});
  expect_usage_error({"join", "--dispatcher", "1.2.3.4:7470", "--key-file", "k", "--self", "x"});
  expect_usage_error({"join", "--dispatcher", "1.2.3.4:7470", "--key-file", "k", "extra"});
  expect_usage_error({"join", "--dispatcher"});
  auto o = parse({"join", "--dispatcher", "1.2.3.4:0", "--key-file", "k"});
  EXPECT_NE(o.err.find("--dispatcher: address '1.2.3.4:0': port 0 is outside 1..65535\n"),
            std::string::npos)
      << o.err;
  o = parse({"join", "--dispatcher", "1.2.3.4:7470", "--key-file", "k", "--transport", "udp"});
  EXPECT_NE(o.err.find("transport 'udp' is not one of tcp, rdma"), std::string::npos) << o.err;
}

TEST(Cli, LeaveAndNodes) {
  EXPECT_EQ(command({"leave"}).verb, admin::Verb::leave);
  auto cmd = command({"nodes"});
  EXPECT_EQ(cmd.verb, admin::Verb::nodes);
  EXPECT_FALSE(cmd.json);
  EXPECT_TRUE(command({"nodes", "--json"}).json);
  EXPECT_TRUE(command({"--json", "leave"}).json);
  expect_usage_error({"leave", "now"});
  expect_usage_error({"nodes", "extra"});
  expect_usage_error({"nodes", "--dispatcher", "1.2.3.4:7470"});
}

TEST(Cli, UsageErrorsExitTwo) {
  expect_usage_error({});
  expect_usage_error({"frobnicate"});
  expect_usage_error({"info", "--bogus"});
  expect_usage_error({"ls", "extra"});
}

TEST(Cli, HelpAndVersionExitZero) {
  auto o = parse({"--help"});
  EXPECT_FALSE(o.result.command.has_value());
  EXPECT_EQ(o.result.exit_code, 0);
  for (const char* sub : {"attach", "detach", "info", "create", "ls", "stat", "rm", "join", "leave",
                          "nodes", "--json", "--device", "SIZE", "ADDR:PORT"})
    EXPECT_NE(o.out.find(sub), std::string::npos) << sub;

  o = parse({"create", "--help"});
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_NE(o.out.find("--replicas"), std::string::npos) << o.out;

  o = parse({"join", "--help"});
  EXPECT_EQ(o.result.exit_code, 0);
  for (const char* opt : {"--dispatcher", "--transport", "--key-file", "--self"})
    EXPECT_NE(o.out.find(opt), std::string::npos) << opt;

  o = parse({"--version"});
  EXPECT_FALSE(o.result.command.has_value());
  EXPECT_EQ(o.result.exit_code, 0);
  EXPECT_EQ(o.out.rfind("dspm-admin ", 0), 0U) << o.out;
  EXPECT_NE(o.out.find("(ABI 1)"), std::string::npos) << o.out;
}

// --- execution failure paths (no device on the build host) --------------------------------------

TEST(CliRun, MissingDeviceFailsWithOne) {
  const auto r = run({"--device", "/nonexistent/dspm", "info"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(
      r.err,
      "dspm-admin: open /nonexistent/dspm: No such file or directory (is dspm.ko loaded? modprobe "
      "dspm)\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(CliRun, NonDspmDeviceReportsTheIoctl) {
  const auto r = run({"ls", "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "dspm-admin: list datasets: Inappropriate ioctl for device\n");
  const auto c = run({"create", "foo", "--size", "1M", "--device", "/dev/null"});
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(c.err, "dspm-admin: create foo: Inappropriate ioctl for device\n");
}

TEST(CliRun, InvalidNameFailsBeforeTheKernel) {
  const auto r = run({"create", ".hidden", "--size", "1M", "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("dspm-admin: create .hidden: invalid dataset name (", 0), 0U) << r.err;
  EXPECT_NE(r.err.find("Invalid argument"), std::string::npos) << r.err;
}

TEST(CliRun, CreateSizeIsCheckedAgainstTheAbiLimit) {
  const auto r = run({"create", "big", "--size", "65T", "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("dspm-admin: create big: length 71468255805440 is outside", 0), 0U)
      << r.err;
}

TEST(CliRun, UsageErrorRunsNothing) {
  const auto r = run({"--device", "/nonexistent/dspm", "create", "foo"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.find("/nonexistent"), std::string::npos) << r.err;
}

namespace {

// A private temporary directory holding one key file, removed at the end.
class CliKeyFile : public ::testing::Test {
 protected:
  dspm::test::TempDir dir_;
  std::string key_ = dir_.write("cluster.key", "0123456789abcdef0123456789abcdef\n", 0600);
};

}  // namespace

TEST_F(CliKeyFile, MissingKeyFileFailsWithOne) {
  const std::string missing = dir_ / "absent.key";
  const auto r = run({"join", "--dispatcher", "10.77.0.1:7470", "--key-file", missing.c_str(),
                      "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "dspm-admin: key file " + missing + ": No such file or directory\n");
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CliKeyFile, ShortKeyFailsWithOne) {
  std::ofstream(key_, std::ios::trunc) << "short\n";
  const auto r = run({"join", "--dispatcher", "10.77.0.1:7470", "--key-file", key_.c_str(),
                      "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("dspm-admin: key file " + key_ + ": the key is 5 bytes long", 0), 0U)
      << r.err;
}

TEST_F(CliKeyFile, JoinReachesTheIoctl) {
  const auto r = run({"join", "--dispatcher", "10.77.0.1:7470", "--key-file", key_.c_str(),
                      "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "dspm-admin: join 10.77.0.1:7470: Inappropriate ioctl for device\n");
}

TEST_F(CliKeyFile, OpenKeyFileIsReadWithAWarning) {
  ASSERT_EQ(::chmod(key_.c_str(), 0644), 0);
  const auto r = run({"join", "--dispatcher", "10.77.0.1:7470", "--key-file", key_.c_str(),
                      "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "dspm-admin: warning: key file " + key_ +
                       " is accessible to group or others\n"
                       "dspm-admin: join 10.77.0.1:7470: Inappropriate ioctl for device\n");
}

TEST(CliRun, LeaveAndNodesReportTheIoctl) {
  auto r = run({"leave", "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "dspm-admin: leave: Inappropriate ioctl for device\n");
  r = run({"nodes", "--json", "--device", "/dev/null"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "dspm-admin: list nodes: Inappropriate ioctl for device\n");
  EXPECT_TRUE(r.out.empty());
}
