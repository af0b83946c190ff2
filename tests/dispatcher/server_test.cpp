// SPDX-License-Identifier: MIT
// The TCP server in-process: a real loopback socket, a temp state file, the loop in a thread.
#include "server.hpp"

#include <cerrno>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "client.hpp"
#include "tempdir.hpp"

using namespace dspm::dispatcher;
using namespace dspm::dispatcher::test;
using namespace std::chrono_literals;

namespace {

// A server running its loop in a thread; stopped and joined on destruction.
class Running {
 public:
  explicit Running(const std::filesystem::path& state, MembershipConfig mc = {})
      : server_(config(state, mc)), thread_([this] { server_.run(); }) {}
  ~Running() {
    server_.stop();
    thread_.join();
  }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

  Server& server() { return server_; }
  std::uint16_t port() const { return server_.port(); }
  bool logged(const std::string& needle) const {
    std::lock_guard lock(mutex_);
    for (const auto& l : logs_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 private:
  ServerConfig config(const std::filesystem::path& state, MembershipConfig mc) {
    ServerConfig c;
    c.listen = "127.0.0.1:0";
    c.state = state;
    c.key = test_key();
    c.membership = mc;
    c.log = [this](LogLevel level, std::string_view line) {
      log_to_stderr(level, line);
      std::lock_guard lock(mutex_);
      logs_.emplace_back(line);
    };
    return c;
  }

  mutable std::mutex mutex_;
  std::vector<std::string> logs_;
  Server server_;
  std::thread thread_;
};

std::uint32_t joined_id(Client& c, std::uint8_t seed, std::uint32_t claimed = 0) {
  auto r = join(c, test_key(), make_hello(seed, claimed));
  EXPECT_TRUE(r.challenge_ok);
  EXPECT_TRUE(r.accept.has_value());
  return r.accept ? r.accept->node_id : 0;
}

// The next NODE_TABLE in which node @id is in @state; nullopt on timeout.
std::optional<NodeTable> table_with(Client& c, std::uint32_t id, NodeState state,
                                    std::chrono::milliseconds timeout = 2000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto t = c.recv_a<NodeTable>(left);
    if (!t) return std::nullopt;
    for (const auto& n : t->nodes) {
      if (n.id == id && n.state == state) return t;
    }
  }
  return std::nullopt;
}

Message request(std::uint32_t sender, std::uint64_t id, Body body) {
  return Message{sender, id, std::move(body)};
}

DatasetCreate create_req(const std::string& name) {
  DatasetCreate c;
  c.name = name;
  c.length = 1 << 20;
  c.mode = 0640;
  c.replicas = 1;
  return c;
}

// The reply (skipping NODE_TABLEs) to a request.
Message call(Client& c, const Message& req) {
  c.send(req);
  for (;;) {
    auto m = c.recv();
    if (!m) return Message{};
    if (!std::holds_alternative<NodeTable>(m->body)) {
      EXPECT_EQ(m->request_id, req.request_id);
      return *m;
    }
  }
}

int error_of(const Message& m) {
  const auto* e = std::get_if<ErrorReply>(&m.body);
  return e != nullptr ? e->error : 0;
}

}  // namespace

TEST(Server, JoinGetsIdAndNodeTable) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  Client a(srv.port());
  auto hello = make_hello(1);
  auto r = join(a, test_key(), hello);
  EXPECT_TRUE(r.challenge_ok);
  ASSERT_TRUE(r.accept);
  EXPECT_EQ(r.accept->node_id, 1u);
  EXPECT_EQ(r.accept->heartbeat_ms, 1000u);
  auto t = a.recv_a<NodeTable>();
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nodes.size(), 1u);
  EXPECT_EQ(t->nodes[0].id, 1u);
  EXPECT_EQ(t->nodes[0].state, NodeState::alive);
  EXPECT_EQ(t->nodes[0].uuid, hello.uuid);
  EXPECT_EQ(t->nodes[0].addr, hello.addr);

  Client b(srv.port());
  EXPECT_EQ(joined_id(b, 2), 2u);
  // Both nodes hear of the new member.
  auto ta = a.recv_a<NodeTable>();
  ASSERT_TRUE(ta);
  EXPECT_EQ(ta->nodes.size(), 2u);
  EXPECT_GT(ta->epoch, t->epoch);
  auto tb = b.recv_a<NodeTable>();
  ASSERT_TRUE(tb);
  EXPECT_EQ(*tb, *ta);
  EXPECT_TRUE(srv.logged("node 2 joined from 127.0.0.1:"));
}

TEST(Server, WrongKeyRefused) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  Client c(srv.port());
  auto r = join(c, test_key('x'), make_hello(1));
  EXPECT_FALSE(r.challenge_ok);  // the node can tell the dispatcher has another key
  EXPECT_FALSE(r.accept);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->error, EACCES);
  EXPECT_EQ(r.error->request_type, DSPM_WIRE_AUTH);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(srv.server().refused(), 1u);
  EXPECT_TRUE(srv.logged("refused join from 127.0.0.1:"));
  EXPECT_TRUE(srv.logged("wrong cluster key"));
  // The refused node got no id: the next one is 1.
  Client d(srv.port());
  EXPECT_EQ(joined_id(d, 2), 1u);
}

TEST(Server, AuthWithAnotherUuidRefused) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  Client c(srv.port());
  auto hello = make_hello(1);
  c.send(request(0, 1, hello));
  auto ch = c.recv_a<Challenge>();
  ASSERT_TRUE(ch);
  Uuid other;
  other.fill(9);
  c.send(request(0, 2, Auth{other, auth_mac(test_key(), ch->nonce, hello.nonce, other)}));
  auto reply = c.recv();
  ASSERT_TRUE(reply);
  EXPECT_EQ(error_of(*reply), EACCES);
  EXPECT_TRUE(c.closed_by_server());
}

TEST(Server, SameIdAfterRestart) {
  TempDir dir;
  auto state = dir.path() / "state.db";
  {
    Running srv(state);
    Client a(srv.port());
    Client b(srv.port());
    EXPECT_EQ(joined_id(a, 1), 1u);
    EXPECT_EQ(joined_id(b, 2), 2u);
  }
  Running srv(state);
  Client b(srv.port());
  EXPECT_EQ(joined_id(b, 2), 2u);
  auto t = table_with(b, 2, NodeState::alive);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->nodes.size(), 2u);
  EXPECT_EQ(t->nodes[0].state, NodeState::suspect);  // restored, not heard of yet
  Client a(srv.port());
  EXPECT_EQ(joined_id(a, 1), 1u);
  Client c(srv.port());
  EXPECT_EQ(joined_id(c, 3), 3u);
}

TEST(Server, HeartbeatTimeouts) {
  TempDir dir;
  MembershipConfig mc{20ms, 100ms, 250ms};
  auto state = dir.path() / "state.db";
  {
    Running srv(state, mc);
    Client c(srv.port());
    auto start = std::chrono::steady_clock::now();
    std::uint32_t id = joined_id(c, 1);
    ASSERT_EQ(id, 1u);
    ASSERT_TRUE(table_with(c, id, NodeState::suspect));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
    // A heartbeat brings it back.
    c.send(request(id, 5, Heartbeat{100, 0}));
    ASSERT_TRUE(table_with(c, id, NodeState::alive));
    ASSERT_TRUE(table_with(c, id, NodeState::suspect));
    ASSERT_TRUE(table_with(c, id, NodeState::dead));
    EXPECT_TRUE(srv.logged("node 1: suspect -> dead"));
    // A dead node must join again.
    c.send(request(id, 6, Heartbeat{100, 0}));
    auto reply = c.recv_a<ErrorReply>();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->error, ESTALE);
    EXPECT_TRUE(c.closed_by_server());
    Client again(srv.port());
    EXPECT_EQ(joined_id(again, 1), id);
  }
  {
    State s(state);
    auto nodes = s.nodes();
    ASSERT_EQ(nodes.size(), 1u);
    EXPECT_EQ(nodes[0].state, NodeState::alive);  // the rejoin was persisted
  }
}

TEST(Server, DatasetRequests) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  Client c(srv.port());
  std::uint32_t id = joined_id(c, 1);
  ASSERT_EQ(id, 1u);

  auto created = call(c, request(id, 10, create_req("alpha")));
  const auto* r = std::get_if<DatasetReply>(&created.body);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->dataset.name, "alpha");
  EXPECT_GT(r->dataset.id, 0u);
  ASSERT_EQ(r->chunks.size(), 1u);
  EXPECT_EQ(r->chunks[0], ChunkNodes{1});
  EXPECT_TRUE(srv.logged("dataset alpha created by node 1"));

  EXPECT_EQ(error_of(call(c, request(id, 11, create_req("alpha")))), EEXIST);

  auto found = call(c, request(id, 12, DatasetLookup{"alpha"}));
  ASSERT_TRUE(std::holds_alternative<DatasetReply>(found.body));
  EXPECT_EQ(std::get<DatasetReply>(found.body), *r);

  auto listed = call(c, request(id, 13, DatasetList{0, 16}));
  const auto* l = std::get_if<ListReply>(&listed.body);
  ASSERT_NE(l, nullptr);
  ASSERT_EQ(l->datasets.size(), 1u);
  EXPECT_EQ(l->datasets[0], r->dataset);
  EXPECT_FALSE(l->more);

  auto deleted = call(c, request(id, 14, DatasetDelete{"alpha"}));
  const auto* d = std::get_if<DeleteReply>(&deleted.body);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->id, r->dataset.id);
  EXPECT_EQ(error_of(call(c, request(id, 15, DatasetLookup{"alpha"}))), ENOENT);
  EXPECT_EQ(error_of(call(c, request(id, 16, DatasetDelete{"alpha"}))), ENOENT);
  EXPECT_TRUE(srv.logged("dataset alpha (id 1) deleted by node 1"));
}

TEST(Server, DatasetsPersistAcrossRestart) {
  TempDir dir;
  auto state = dir.path() / "state.db";
  DatasetReply beta;
  {
    Running srv(state);
    Client c(srv.port());
    std::uint32_t id = joined_id(c, 1);
    auto a = call(c, request(id, 1, create_req("alpha")));
    ASSERT_TRUE(std::holds_alternative<DatasetReply>(a.body));
    auto b = call(c, request(id, 2, create_req("beta")));
    ASSERT_TRUE(std::holds_alternative<DatasetReply>(b.body));
    beta = std::get<DatasetReply>(b.body);
    ASSERT_TRUE(
        std::holds_alternative<DeleteReply>(call(c, request(id, 3, DatasetDelete{"alpha"})).body));
  }
  Running srv(state);
  Client c(srv.port());
  std::uint32_t id = joined_id(c, 1);
  auto found = call(c, request(id, 1, DatasetLookup{"beta"}));
  ASSERT_TRUE(std::holds_alternative<DatasetReply>(found.body));
  EXPECT_EQ(std::get<DatasetReply>(found.body), beta);
  EXPECT_EQ(error_of(call(c, request(id, 2, DatasetLookup{"alpha"}))), ENOENT);
  auto listed = call(c, request(id, 3, DatasetList{0, 16}));
  ASSERT_TRUE(std::holds_alternative<ListReply>(listed.body));
  ASSERT_EQ(std::get<ListReply>(listed.body).datasets.size(), 1u);
  // Ids are never reused, across restarts too.
  auto gamma = call(c, request(id, 4, create_req("gamma")));
  ASSERT_TRUE(std::holds_alternative<DatasetReply>(gamma.body));
  EXPECT_GT(std::get<DatasetReply>(gamma.body).dataset.id, beta.dataset.id);
}

TEST(Server, RequestsBeforeJoinOrWithWrongSenderDropped) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  {
    Client c(srv.port());
    c.send(request(1, 7, DatasetLookup{"alpha"}));
    auto reply = c.recv();
    ASSERT_TRUE(reply);
    EXPECT_EQ(error_of(*reply), EPROTO);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(srv.port());
    std::uint32_t id = joined_id(c, 1);
    c.send(request(id + 1, 8, DatasetLookup{"alpha"}));
    auto reply = c.recv_a<ErrorReply>();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->error, EPROTO);
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(srv.server().malformed(), 2u);
  EXPECT_TRUE(srv.logged("unexpected message from 127.0.0.1:"));
}

TEST(Server, GarbageDropsOnlyThatConnection) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  Client joined(srv.port());
  std::uint32_t id = joined_id(joined, 1);

  std::mt19937 rng(42);
  std::vector<std::byte> random(4096);
  for (auto& b : random) b = static_cast<std::byte>(rng());
  {
    Client c(srv.port());
    c.send_raw(random);
    EXPECT_TRUE(c.closed_by_server());
  }
  auto hello = encode(Message{0, 1, make_hello(3)});
  {  // a truncated header, then the end of the stream
    Client c(srv.port());
    c.send_raw(std::span(hello).first(10));
    c.shutdown_write();
    EXPECT_TRUE(c.closed_by_server());
  }
  {  // a huge length
    Client c(srv.port());
    auto huge = hello;
    huge[8] = std::byte{0xff};
    huge[9] = std::byte{0xff};
    huge[10] = std::byte{0xff};
    huge[11] = std::byte{0x7f};
    c.send_raw(std::span(huge).first(DSPM_WIRE_HDR_SIZE));
    EXPECT_TRUE(c.closed_by_server());
  }
  {  // a valid header with a bad body: HELLO's reserved field set
    Client c(srv.port());
    auto bad = hello;
    bad[DSPM_WIRE_HDR_SIZE + 20] = std::byte{1};
    c.send_raw(bad);
    EXPECT_TRUE(c.closed_by_server());
  }
  {  // a valid header with a nil uuid
    Client c(srv.port());
    auto bad = hello;
    for (int i = 0; i < DSPM_WIRE_UUID_SIZE; ++i) bad[DSPM_WIRE_HDR_SIZE + i] = std::byte{0};
    c.send_raw(bad);
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(srv.server().malformed(), 5u);
  EXPECT_TRUE(srv.logged("malformed message from 127.0.0.1:"));

  // Everybody else is still served.
  Client next(srv.port());
  EXPECT_EQ(joined_id(next, 2), 2u);
  auto found = call(joined, request(id, 9, DatasetLookup{"nothing"}));
  EXPECT_EQ(error_of(found), ENOENT);
}

TEST(Server, RejoinReplacesOldConnection) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  Client old(srv.port());
  EXPECT_EQ(joined_id(old, 1), 1u);
  Client fresh(srv.port());
  EXPECT_EQ(joined_id(fresh, 1), 1u);
  EXPECT_TRUE(old.closed_by_server());
  auto t = fresh.recv_a<NodeTable>();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->nodes.size(), 1u);
}

namespace {

// A server of its own on a state in @dir, logging nothing; not started.
ServerConfig quiet_config(const TempDir& dir) {
  ServerConfig c;
  c.state = dir.path() / "state.db";
  c.key = test_key();
  c.log = nullptr;
  return c;
}

}  // namespace

TEST(Server, BadListenAddress) {
  TempDir dir;
  ServerConfig c = quiet_config(dir);
  // The input set of common::parse_address(): "::1:0" (no brackets), "127.1:0" and zones were
  // taken by the getaddrinfo() the dispatcher used before and are refused now, like libdspm.
  for (const char* bad : {"localhost:0", "127.0.0.1", "127.0.0.1:x", "[::1:0", "", "::1:0",
                          "127.1:0", "[fe80::1%lo]:0", "127.0.0.1:65536", "[127.0.0.1]:0"}) {
    c.listen = bad;
    try {
      Server s(c);
      ADD_FAILURE() << bad;
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EINVAL) << bad;
      EXPECT_EQ(std::string(e.what()).rfind("listen address '" + std::string(bad) + "': ", 0), 0U)
          << e.what();
    }
  }
}

TEST(Server, ListensOnIpv6Loopback) {
  TempDir dir;
  ServerConfig c = quiet_config(dir);
  c.listen = "[::1]:0";
  try {
    Server s(c);
    EXPECT_NE(s.port(), 0);
    EXPECT_EQ(s.address(), "[::1]:" + std::to_string(s.port()));
  } catch (const std::system_error& e) {
    // A host without IPv6 loopback refuses the bind, not the address.
    EXPECT_NE(e.code().value(), EINVAL) << e.what();
  }
}

TEST(Server, FramingAcrossAndWithinReads) {
  TempDir dir;
  Running srv(dir.path() / "state.db");
  Client c(srv.port());
  // HELLO in 7-byte pieces, each its own segment.
  auto hello = make_hello(1);
  auto bytes = encode(Message{0, 1, hello});
  for (std::size_t off = 0; off < bytes.size(); off += 7) {
    c.send_raw(std::span(bytes).subspan(off, std::min<std::size_t>(7, bytes.size() - off)));
    std::this_thread::sleep_for(1ms);
  }
  auto ch = c.recv_a<Challenge>();
  ASSERT_TRUE(ch);
  c.send(request(0, 2, Auth{hello.uuid, auth_mac(test_key(), ch->nonce, hello.nonce, hello.uuid)}));
  auto accept = c.recv_a<JoinAccept>();
  ASSERT_TRUE(accept);
  std::uint32_t id = accept->node_id;
  // Three requests in one write: three replies, in order.
  std::vector<std::byte> batch;
  for (std::uint64_t rid = 10; rid < 13; ++rid) {
    auto m = encode(request(id, rid, DatasetLookup{"none"}));
    batch.insert(batch.end(), m.begin(), m.end());
  }
  c.send_raw(batch);
  for (std::uint64_t rid = 10; rid < 13; ++rid) {
    std::optional<Message> m;
    do {
      m = c.recv();
      ASSERT_TRUE(m);
    } while (std::holds_alternative<NodeTable>(m->body));
    EXPECT_EQ(m->request_id, rid);
    EXPECT_EQ(error_of(*m), ENOENT);
  }
  EXPECT_EQ(srv.server().malformed(), 0u);
}
