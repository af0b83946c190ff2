// SPDX-License-Identifier: MIT
// Cluster helpers of libdspm: addresses, the key file, the JOIN/LEAVE/NODES structs and the
// NODES protocol against a fake kernel.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include "dspm/abi.hpp"
#include "test_util.hpp"

namespace dabi = dspm::abi;

namespace {

using dspm::test::all_zero;
using dspm::test::expect_errno;
using dspm::test::zero_bytes;

dspm_addr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint32_t port) {
  auto out = dabi::zeroed<dspm_addr>();
  out.family = DSPM_AF_INET;
  out.port = port;
  out.addr[0] = a;
  out.addr[1] = b;
  out.addr[2] = c;
  out.addr[3] = d;
  return out;
}

bool same(const dspm_addr& a, const dspm_addr& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

// --- layout ----------------------------------------------------------------------------------

TEST(ClusterAbi, Ver0SizesAndOffsets) {
  EXPECT_EQ(sizeof(dspm_addr), 24U);
  EXPECT_EQ(sizeof(dspm_join), DSPM_JOIN_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_leave), DSPM_LEAVE_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_node_info), DSPM_NODE_INFO_SIZE_VER0);
  EXPECT_EQ(sizeof(dspm_nodes), DSPM_NODES_SIZE_VER0);
  EXPECT_EQ(offsetof(dspm_join, key), 16U);
  EXPECT_EQ(offsetof(dspm_join, dispatcher), 24U);
  EXPECT_EQ(offsetof(dspm_join, self), 48U);
  EXPECT_EQ(offsetof(dspm_join, node_id), 72U);
  EXPECT_EQ(offsetof(dspm_node_info, uuid), 16U);
  EXPECT_EQ(offsetof(dspm_node_info, addr), 32U);
  EXPECT_EQ(offsetof(dspm_node_info, capacity), 56U);
  EXPECT_EQ(offsetof(dspm_node_info, incarnation), 72U);
  EXPECT_EQ(offsetof(dspm_nodes, entries), 8U);
  EXPECT_EQ(offsetof(dspm_nodes, self_id), 32U);
  EXPECT_EQ(offsetof(dspm_nodes, epoch), 40U);
  // NODES has LIST's layout up to total.
  EXPECT_EQ(offsetof(dspm_nodes, total), offsetof(dspm_list, total));
}

// --- addresses -------------------------------------------------------------------------------

TEST(ParseAddress, Ipv4) {
  EXPECT_TRUE(same(dabi::parse_address("10.77.0.1:7070"), v4(10, 77, 0, 1, 7070)));
  EXPECT_TRUE(same(dabi::parse_address("255.255.255.255:1"), v4(255, 255, 255, 255, 1)));
  EXPECT_TRUE(same(dabi::parse_address("127.0.0.1:65535"), v4(127, 0, 0, 1, 65535)));
  EXPECT_TRUE(same(dabi::parse_address("0.0.0.0:80"), v4(0, 0, 0, 0, 80)));  // parses; join refuses
  EXPECT_TRUE(same(dabi::parse_address("1.2.3.4:0080"), v4(1, 2, 3, 4, 80)));
}

TEST(ParseAddress, Ipv6InBrackets) {
  auto a = dabi::parse_address("[::1]:7070");
  EXPECT_EQ(a.family, static_cast<std::uint32_t>(DSPM_AF_INET6));
  EXPECT_EQ(a.port, 7070U);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(a.addr[i], 0U) << i;
  EXPECT_EQ(a.addr[15], 1U);

  a = dabi::parse_address("[fd00:1:2::abcd]:1");
  EXPECT_EQ(a.family, static_cast<std::uint32_t>(DSPM_AF_INET6));
  EXPECT_EQ(a.port, 1U);
  EXPECT_EQ(a.addr[0], 0xfdU);
  EXPECT_EQ(a.addr[1], 0x00U);
  EXPECT_EQ(a.addr[3], 0x01U);
  EXPECT_EQ(a.addr[5], 0x02U);
  EXPECT_EQ(a.addr[14], 0xabU);
  EXPECT_EQ(a.addr[15], 0xcdU);

  a = dabi::parse_address("[::ffff:10.0.0.1]:9");  // IPv4-mapped stays IPv6
  EXPECT_EQ(a.family, static_cast<std::uint32_t>(DSPM_AF_INET6));
  EXPECT_EQ(a.addr[10], 0xffU);
  EXPECT_EQ(a.addr[12], 10U);
  EXPECT_EQ(a.addr[15], 1U);
}

TEST(ParseAddress, BadPorts) {
  for (const char* bad : {"1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:99999999999999999999", "[::1]:0",
                          "[::1]:70000", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4:80a", "1.2.3.4: 80",
                          "1.2.3.4:0x50", "[::1]:8 0", "1.2.3.4:80 "})
    expect_errno(EINVAL, std::string("address '") + bad + "': ", [&] { dabi::parse_address(bad); });
  expect_errno(EINVAL, "address '1.2.3.4:0': port 0 is outside 1..65535",
               [] { dabi::parse_address("1.2.3.4:0"); });
  expect_errno(EINVAL, "address '[::1]:65536': port 65536 is outside 1..65535",
               [] { dabi::parse_address("[::1]:65536"); });
  expect_errno(EINVAL, "address '1.2.3.4:http': port 'http' is not a decimal number",
               [] { dabi::parse_address("1.2.3.4:http"); });
}

TEST(ParseAddress, MissingPort) {
  for (const char* bad : {"1.2.3.4", "1.2.3.4:", "[::1]", "[::1]:", "[::1]7070"})
    expect_errno(EINVAL, std::string("address '") + bad + "': ", [&] { dabi::parse_address(bad); });
  expect_errno(EINVAL, "address '10.0.0.1': has no port", [] { dabi::parse_address("10.0.0.1"); });
  expect_errno(EINVAL, "address '[::1]': has no port", [] { dabi::parse_address("[::1]"); });
}

TEST(ParseAddress, Garbage) {
  for (const char* bad :
       {"", ":", ":80", "[]:80", "localhost:80", "example.com:7070", "1.2.3:80", "1.2.3.4.5:80",
        "256.1.1.1:80", "1.2.3.4/24:80", " 1.2.3.4:80", "::1:80", "fd00::1:7070", "[::1:80",
        "[::1]x:80", "[1.2.3.4]:80", "[fe80::1%eth0]:80", "[::g]:80", "garbage"})
    expect_errno(EINVAL, std::string("address '") + bad + "'", [&] { dabi::parse_address(bad); });
  expect_errno(EINVAL, "address '::1:80': an IPv6 address needs brackets",
               [] { dabi::parse_address("::1:80"); });
  expect_errno(EINVAL, "address '[1.2.3.4]:80': brackets are for IPv6 addresses only",
               [] { dabi::parse_address("[1.2.3.4]:80"); });
  expect_errno(EINVAL, "address 'host:80': 'host' is not a numeric IPv4 address",
               [] { dabi::parse_address("host:80"); });
  expect_errno(EINVAL, "address 'a\\x00b:80': contains a NUL byte",
               [] { dabi::parse_address(std::string_view("a\0b:80", 6)); });
}

TEST(ParseAddress, ContextPrefixesTheMessage) {
  expect_errno(EINVAL, "join: dispatcher address 'x': ", [] {
    dabi::parse_address("x", "join: dispatcher address");
  });
}

TEST(FormatAddress, RoundTrips) {
  for (const char* text : {"10.77.0.1:7070", "0.0.0.0:1", "255.255.255.255:65535", "[::1]:7070",
                           "[fd00::1]:7470", "[fd00:1:2:3:4:5:6:7]:80", "[::ffff:10.0.0.1]:9"})
    EXPECT_EQ(dabi::format_address(dabi::parse_address(text)), text);
  // RFC 5952: lower case, longest zero run compressed.
  EXPECT_EQ(dabi::format_address(dabi::parse_address("[FD00:0:0:0:0:0:0:1]:80")), "[fd00::1]:80");
}

TEST(FormatAddress, NoneAndUnknownFamilies) {
  EXPECT_EQ(dabi::format_address(dabi::zeroed<dspm_addr>()), "");
  auto a = v4(1, 2, 3, 4, 5);
  a.family = 9;
  EXPECT_EQ(dabi::format_address(a), "<family 9>");
}

// --- key file --------------------------------------------------------------------------------

namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) {
    return dir_.write(name, content, mode);
  }

  static std::vector<std::uint8_t> bytes(const std::string& text) {
    return {text.begin(), text.end()};
  }

  dspm::test::TempDir dir_;
};

}  // namespace

TEST_F(KeyFileTest, ReadsTheBytes) {
  const std::string key(DSPM_KEY_MIN, 'k');
  const auto k = dspm::read_key_file(write("key", key));
  EXPECT_EQ(k.key, bytes(key));
  EXPECT_FALSE(k.group_or_other_access);

  std::string binary(32, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 37);
  EXPECT_EQ(dspm::read_key_file(write("bin", binary)).key, bytes(binary));
}

TEST_F(KeyFileTest, StripsOneTrailingNewline) {
  const std::string key = "0123456789abcdef0123";
  EXPECT_EQ(dspm::read_key_file(write("nl", key + "\n")).key, bytes(key));
  EXPECT_EQ(dspm::read_key_file(write("nl2", key + "\n\n")).key, bytes(key + "\n"));
  EXPECT_EQ(dspm::read_key_file(write("crlf", key + "\r\n")).key, bytes(key + "\r"));
  EXPECT_EQ(dspm::read_key_file(write("lead", "\n" + key)).key, bytes("\n" + key));
  EXPECT_EQ(dspm::read_key_file(write("sp", key + " ")).key, bytes(key + " "));
}

TEST_F(KeyFileTest, LengthLimits) {
  const std::string min(DSPM_KEY_MIN, 'a'), max(DSPM_KEY_MAX, 'b');
  EXPECT_EQ(dspm::read_key_file(write("min", min)).key.size(), std::size_t{DSPM_KEY_MIN});
  EXPECT_EQ(dspm::read_key_file(write("minnl", min + "\n")).key.size(), std::size_t{DSPM_KEY_MIN});
  EXPECT_EQ(dspm::read_key_file(write("max", max)).key.size(), std::size_t{DSPM_KEY_MAX});
  EXPECT_EQ(dspm::read_key_file(write("maxnl", max + "\n")).key.size(), std::size_t{DSPM_KEY_MAX});

  const std::string shorter = write("short", min.substr(1));
  expect_errno(EINVAL, "key file " + shorter + ": the key is 15 bytes long, 16..1024 are needed",
               [&] { dspm::read_key_file(shorter); });
  const std::string shorter_nl = write("shortnl", min.substr(1) + "\n");
  expect_errno(EINVAL, "key file " + shorter_nl + ": the key is 15 bytes long",
               [&] { dspm::read_key_file(shorter_nl); });
  const std::string empty = write("empty", "");
  expect_errno(EINVAL, "key file " + empty + ": the key is 0 bytes long",
               [&] { dspm::read_key_file(empty); });
  const std::string newline = write("newline", "\n");
  expect_errno(EINVAL, "key file " + newline + ": the key is 0 bytes long",
               [&] { dspm::read_key_file(newline); });

  for (const std::string& content :
       {max + "b", max + "b\n", max + "\n\n", std::string(1 << 20, 'x')}) {
    const std::string path = write("long", content);
    expect_errno(EINVAL, "key file " + path + ": the key is ", [&] { dspm::read_key_file(path); });
  }
  const std::string longer = write("longer", max + "b");
  expect_errno(EINVAL, "key file " + longer + ": the key is longer than the 1024 bytes allowed",
               [&] { dspm::read_key_file(longer); });
  const std::string two_newlines = write("twonl", max + "\n\n");
  expect_errno(EINVAL, "key file " + two_newlines + ": the key is longer than the 1024 bytes",
               [&] { dspm::read_key_file(two_newlines); });
}

TEST_F(KeyFileTest, MissingFileIsEnoent) {
  const std::string path = dir_ / "absent";
  expect_errno(ENOENT, "key file " + path + ": No such file or directory",
               [&] { dspm::read_key_file(path); });
  expect_errno(EISDIR, "key file " + dir_.path().string() + ": ",
               [&] { dspm::read_key_file(dir_.path().string()); });
}

TEST_F(KeyFileTest, ReportsGroupOrOtherAccess) {
  const std::string key(20, 'z');
  EXPECT_FALSE(dspm::read_key_file(write("600", key, 0600)).group_or_other_access);
  EXPECT_FALSE(dspm::read_key_file(write("400", key, 0400)).group_or_other_access);
  EXPECT_TRUE(dspm::read_key_file(write("640", key, 0640)).group_or_other_access);
  EXPECT_TRUE(dspm::read_key_file(write("604", key, 0604)).group_or_other_access);
  EXPECT_TRUE(dspm::read_key_file(write("610", key, 0610)).group_or_other_access);
  EXPECT_TRUE(dspm::read_key_file(write("644", key, 0644)).key == bytes(key));  // read all the same
}

// --- struct builders -------------------------------------------------------------------------

TEST(ClusterAbi, MakeJoin) {
  const dspm::JoinOptions options{.dispatcher = "10.77.0.1:7470",
                                  .self = "[fd00::2]:7471",
                                  .transport = dspm::Transport::rdma,
                                  .key = std::vector<std::uint8_t>(32, 0x5a)};
  const auto j = dabi::make_join(options);
  EXPECT_EQ(j.size, DSPM_JOIN_SIZE_VER0);
  EXPECT_EQ(j.flags, 0U);
  EXPECT_EQ(j.transport, static_cast<std::uint32_t>(DSPM_TRANSPORT_RDMA));
  EXPECT_EQ(j.key, reinterpret_cast<std::uintptr_t>(options.key.data()));
  EXPECT_EQ(j.key_len, 32U);
  EXPECT_TRUE(same(j.dispatcher, v4(10, 77, 0, 1, 7470)));
  EXPECT_TRUE(same(j.self, dabi::parse_address("[fd00::2]:7471")));
  EXPECT_EQ(j.node_id, 0U);
  EXPECT_EQ(j.reserved0, 0U);
  EXPECT_TRUE(all_zero(j.reserved));
}

TEST(ClusterAbi, MakeJoinDefaults) {
  const dspm::JoinOptions options{.dispatcher = "[::1]:7470",
                                  .key = std::vector<std::uint8_t>(DSPM_KEY_MIN, 1)};
  const auto j = dabi::make_join(options);
  EXPECT_EQ(j.transport, static_cast<std::uint32_t>(DSPM_TRANSPORT_TCP));
  EXPECT_EQ(j.key_len, std::uint32_t{DSPM_KEY_MIN});
  EXPECT_EQ(j.dispatcher.family, static_cast<std::uint32_t>(DSPM_AF_INET6));
  EXPECT_TRUE(zero_bytes(j.self, 0));  // family 0: none
  EXPECT_TRUE(zero_bytes(j, offsetof(dspm_join, node_id)));
}

TEST(ClusterAbi, MakeJoinValidates) {
  const std::vector<std::uint8_t> key(20, 7);
  expect_errno(EINVAL, "join: the dispatcher address is missing",
               [&] { dabi::make_join({.key = key}); });
  expect_errno(EINVAL, "join: dispatcher address 'nowhere': ", [&] {
    dabi::make_join({.dispatcher = "nowhere", .key = key});
  });
  expect_errno(EINVAL, "join: dispatcher address '10.0.0.1:0': port 0",
               [&] { dabi::make_join({.dispatcher = "10.0.0.1:0", .key = key}); });
  expect_errno(EINVAL, "join: self address '10.0.0.2': has no port", [&] {
    dabi::make_join({.dispatcher = "10.0.0.1:7470", .self = "10.0.0.2", .key = key});
  });
  expect_errno(EINVAL, "join: dispatcher address '0.0.0.0:7470': the unspecified address",
               [&] { dabi::make_join({.dispatcher = "0.0.0.0:7470", .key = key}); });
  expect_errno(EINVAL, "join: self address '[::]:7471': the unspecified address", [&] {
    dabi::make_join({.dispatcher = "10.0.0.1:7470", .self = "[::]:7471", .key = key});
  });
  expect_errno(EINVAL, "join: unknown transport 7", [&] {
    dabi::make_join(
        {.dispatcher = "10.0.0.1:7470", .transport = static_cast<dspm::Transport>(7), .key = key});
  });
  expect_errno(EINVAL, "join: the cluster key is 15 bytes long, 16..1024 are needed", [] {
    dabi::make_join({.dispatcher = "10.0.0.1:7470", .key = std::vector<std::uint8_t>(15)});
  });
  expect_errno(EINVAL, "join: the cluster key is 1025 bytes long", [] {
    dabi::make_join({.dispatcher = "10.0.0.1:7470", .key = std::vector<std::uint8_t>(1025)});
  });
  expect_errno(EINVAL, "join: the cluster key is 0 bytes long",
               [] { dabi::make_join({.dispatcher = "10.0.0.1:7470"}); });
  EXPECT_NO_THROW(dabi::make_join(
      {.dispatcher = "10.0.0.1:7470", .key = std::vector<std::uint8_t>(DSPM_KEY_MAX)}));
}

TEST(ClusterAbi, MakeLeave) {
  const auto l = dabi::make_leave();
  EXPECT_EQ(l.size, DSPM_LEAVE_SIZE_VER0);
  EXPECT_TRUE(zero_bytes(l, 4));
}

TEST(ClusterAbi, MakeNodes) {
  auto n = dabi::make_nodes(nullptr, 10);
  EXPECT_EQ(n.size, DSPM_NODES_SIZE_VER0);
  EXPECT_EQ(n.flags, 0U);
  EXPECT_EQ(n.entries, 0U);
  EXPECT_EQ(n.capacity, 0U);  // no buffer: just count
  EXPECT_EQ(n.entry_size, DSPM_NODE_INFO_SIZE_VER0);
  dspm_node_info buf[3];
  n = dabi::make_nodes(buf, 3);
  EXPECT_EQ(n.entries, reinterpret_cast<std::uintptr_t>(buf));
  EXPECT_EQ(n.capacity, 3U);
  EXPECT_TRUE(zero_bytes(n, offsetof(dspm_nodes, count)));
}

// --- decoding --------------------------------------------------------------------------------

namespace {

dspm_node_info raw_node(std::uint32_t id, std::uint32_t state = DSPM_NODE_ALIVE) {
  auto n = dabi::zeroed<dspm_node_info>();
  n.id = id;
  n.state = state;
  n.uuid[0] = 0xab;
  n.uuid[15] = static_cast<std::uint8_t>(id);
  n.addr = v4(10, 77, 0, static_cast<std::uint8_t>(id), 7471);
  n.capacity = 64ULL << 20;
  n.free = (64ULL << 20) - id;
  n.incarnation = 0x5eed0000ULL + id;
  return n;
}

}  // namespace

TEST(ClusterAbi, DecodeNodeInfo) {
  const auto n = dabi::decode_node_info(raw_node(3, DSPM_NODE_SUSPECT));
  EXPECT_EQ(n.id, 3U);
  EXPECT_EQ(n.state, dspm::NodeState::suspect);
  EXPECT_EQ(n.uuid, "ab000000-0000-0000-0000-000000000003");
  EXPECT_EQ(n.address, "10.77.0.3:7471");
  EXPECT_EQ(n.capacity, 64ULL << 20);
  EXPECT_EQ(n.free, (64ULL << 20) - 3);
  EXPECT_EQ(n.incarnation, 0x5eed0003ULL);

  auto raw = raw_node(4, DSPM_NODE_DEAD);
  raw.addr = dabi::zeroed<dspm_addr>();
  const auto dead = dabi::decode_node_info(raw);
  EXPECT_EQ(dead.state, dspm::NodeState::dead);
  EXPECT_EQ(dead.address, "");

  const auto odd = dabi::decode_node_info(raw_node(5, 42));  // from a newer kernel: kept raw
  EXPECT_EQ(static_cast<std::uint32_t>(odd.state), 42U);
  EXPECT_EQ(dspm::to_string(odd.state), "unknown");
}

TEST(ClusterAbi, EnumsToString) {
  EXPECT_EQ(dspm::to_string(dspm::Transport::tcp), "tcp");
  EXPECT_EQ(dspm::to_string(dspm::Transport::rdma), "rdma");
  EXPECT_EQ(dspm::to_string(static_cast<dspm::Transport>(2)), "unknown");
  EXPECT_EQ(dspm::to_string(dspm::NodeState::alive), "alive");
  EXPECT_EQ(dspm::to_string(dspm::NodeState::suspect), "suspect");
  EXPECT_EQ(dspm::to_string(dspm::NodeState::dead), "dead");
  EXPECT_EQ(dspm::to_string(static_cast<dspm::NodeState>(0)), "unknown");
  EXPECT_EQ(dspm::to_string(dspm::Link::connected), "connected");
  EXPECT_EQ(dspm::to_string(dspm::Link::reconnecting), "reconnecting");
  EXPECT_EQ(dspm::to_string(static_cast<dspm::Link>(0)), "unknown");
}

// --- NODES protocol against a fake kernel ----------------------------------------------------

namespace {

// Behaves like the driver's DSPM_IOC_NODES over a node table that may grow between calls.
struct FakeNodes {
  std::vector<dspm_node_info> table;
  std::vector<std::size_t> grow_after_call;  // grow_after_call[i]: nodes added after call i
  std::uint32_t self_id = 1;
  std::uint32_t link = DSPM_LINK_CONNECTED;
  std::uint64_t epoch = 7;
  int calls = 0;
  int fail_with = 0;

  int operator()(dspm_nodes& arg) {
    EXPECT_EQ(arg.size, sizeof(dspm_nodes));
    EXPECT_EQ(arg.entry_size, sizeof(dspm_node_info));
    EXPECT_EQ(arg.count, 0U);
    EXPECT_EQ(arg.total, 0U);
    EXPECT_EQ(arg.self_id, 0U);
    EXPECT_EQ(arg.epoch, 0U);
    if (fail_with) return fail_with;
    auto* out = reinterpret_cast<dspm_node_info*>(arg.entries);
    const std::size_t n = std::min<std::size_t>(arg.capacity, table.size());
    EXPECT_TRUE(n == 0 || out != nullptr);
    for (std::size_t i = 0; i < n; ++i) out[i] = table[i];
    arg.count = static_cast<std::uint32_t>(n);
    arg.total = static_cast<std::uint32_t>(table.size());
    arg.self_id = self_id;
    arg.link = link;
    arg.epoch = epoch;
    const auto call = static_cast<std::size_t>(calls++);
    if (call < grow_after_call.size()) {
      for (std::size_t k = 0; k < grow_after_call[call]; ++k)
        table.push_back(raw_node(static_cast<std::uint32_t>(table.size() + 1)));
      ++epoch;  // every change of the table is a new epoch
    }
    return 0;
  }
};

}  // namespace

TEST(NodesProtocol, EmptyTableTakesOneCall) {
  FakeNodes fake;
  fake.self_id = 4;
  fake.link = DSPM_LINK_RECONNECTING;
  const auto c = dabi::nodes_with(std::ref(fake));
  EXPECT_TRUE(c.nodes.empty());
  EXPECT_EQ(c.self_id, 4U);
  EXPECT_EQ(c.link, dspm::Link::reconnecting);
  EXPECT_EQ(c.epoch, 7U);
  EXPECT_EQ(fake.calls, 1);
}

TEST(NodesProtocol, CountsThenFetches) {
  FakeNodes fake;
  for (std::uint32_t i = 1; i <= 3; ++i) fake.table.push_back(raw_node(i));
  fake.self_id = 2;
  const auto c = dabi::nodes_with(std::ref(fake));
  ASSERT_EQ(c.nodes.size(), 3U);
  EXPECT_EQ(fake.calls, 2);
  EXPECT_EQ(c.self_id, 2U);
  EXPECT_EQ(c.link, dspm::Link::connected);
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c.nodes[i].id, i + 1);
    EXPECT_EQ(c.nodes[i], dabi::decode_node_info(raw_node(i + 1)));
  }
}

TEST(NodesProtocol, MetadataComesFromTheFetch) {
  FakeNodes fake;
  fake.table.push_back(raw_node(1));
  fake.grow_after_call = {1};  // a node joins between the count and the fetch
  const auto c = dabi::nodes_with(std::ref(fake));
  EXPECT_EQ(c.nodes.size(), 2U);
  EXPECT_EQ(c.epoch, 8U);  // the fetch's epoch, which describes the entries returned
  EXPECT_EQ(fake.calls, 2);
}

TEST(NodesProtocol, RetriesWhenTheTableOutgrewTheBuffer) {
  FakeNodes fake;
  fake.table.push_back(raw_node(1));
  fake.grow_after_call = {50};
  const auto c = dabi::nodes_with(std::ref(fake));
  EXPECT_EQ(c.nodes.size(), 51U);
  EXPECT_EQ(fake.calls, 4);  // count, short fetch, count, fetch
}

TEST(NodesProtocol, GivesUpWithEagainWhenItKeepsGrowing) {
  int calls = 0;
  auto growing = [&](dspm_nodes& arg) {
    ++calls;
    auto* out = reinterpret_cast<dspm_node_info*>(arg.entries);
    for (std::uint32_t i = 0; i < arg.capacity; ++i) out[i] = raw_node(i + 1);
    arg.count = arg.capacity;
    arg.total = arg.capacity + 1;
    return 0;
  };
  expect_errno(EAGAIN, "list nodes: the node table kept growing",
               [&] { dabi::nodes_with(growing); });
  EXPECT_EQ(calls, 16);
}

TEST(NodesProtocol, NotInAClusterIsEnotconn) {
  FakeNodes fake;
  fake.fail_with = ENOTCONN;
  expect_errno(ENOTCONN, "list nodes: this node is not in a cluster: ", [&] {
    dabi::nodes_with(std::ref(fake));
  });
  EXPECT_EQ(fake.calls, 0);
  fake.fail_with = ENODEV;
  expect_errno(ENODEV, "list nodes: No such device", [&] { dabi::nodes_with(std::ref(fake)); });
}

TEST(NodesProtocol, RejectsAKernelThatOverrunsTheBuffer) {
  auto liar = [](dspm_nodes& arg) {
    arg.total = 1;
    arg.count = arg.capacity + 1;
    return 0;
  };
  expect_errno(EPROTO, "list nodes: the kernel reported", [&] { dabi::nodes_with(liar); });
}
