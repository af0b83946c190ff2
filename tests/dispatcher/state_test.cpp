// SPDX-License-Identifier: MIT
#include "state.hpp"

#include <cerrno>
#include <fstream>
#include <system_error>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tempdir.hpp"

using namespace dspm::dispatcher;
using dspm::dispatcher::test::TempDir;

namespace {

int error_of(auto f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().value();
  }
  return 0;
}

NodeEntry node(std::uint32_t id, NodeState state) {
  NodeEntry n;
  n.id = id;
  n.state = state;
  n.uuid.fill(static_cast<std::uint8_t>(id));
  n.addr.addr = {192, 168, 0, static_cast<std::uint8_t>(id)};
  n.addr.port = static_cast<std::uint16_t>(7000 + id);
  n.capacity = (1ULL << 40) + id;
  n.free = 1ULL << 39;
  n.incarnation = 0xfeed0000ULL + id;
  return n;
}

DatasetDesc desc(std::string name, std::uint64_t length, std::uint32_t replicas) {
  DatasetDesc d;
  d.name = std::move(name);
  d.length = length;
  d.mode = 0640;
  d.uid = 1000;
  d.gid = 1001;
  d.model = 1;
  d.replicas = replicas;
  d.chunk_size = 0x1000;
  d.chunks = static_cast<std::uint32_t>(chunk_count(length, d.chunk_size));
  return d;
}

std::string pragma(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace

TEST(State, PersistsAcrossReopen) {
  TempDir dir;
  auto file = dir.path() / "state.db";
  std::uint64_t id_a = 0;
  {
    State s(file);
    EXPECT_EQ(s.user_version(), State::schema_version);
    s.put_node(node(1, NodeState::alive));
    s.put_node(node(2, NodeState::alive));
    s.put_node(node(5, NodeState::suspect));
    s.set_node_state(2, NodeState::dead);
    id_a = s.create_dataset(desc("a", 3 * 0x1000, 2), {{1, 2}, {2, 5}, {5, 1}}).id;
    s.create_dataset(desc("b", 1, 1), {{5}});
    s.create_dataset(desc("c", 0x1000, 3), {{1, 2, 5}});
    s.set_placement(id_a, 1, {5, 1});
    ASSERT_TRUE(s.delete_dataset("c"));
  }
  State s(file);
  auto nodes = s.nodes();
  ASSERT_EQ(nodes.size(), 3U);
  EXPECT_EQ(nodes[0], node(1, NodeState::alive));
  EXPECT_EQ(nodes[1], node(2, NodeState::dead));
  EXPECT_EQ(nodes[2], node(5, NodeState::suspect));
  auto a = s.find_dataset("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->dataset.id, id_a);
  auto want = desc("a", 3 * 0x1000, 2);
  want.id = id_a;
  EXPECT_EQ(a->dataset, want);
  EXPECT_EQ(a->chunks, (std::vector<ChunkNodes>{{1, 2}, {5, 1}, {5, 1}}));
  EXPECT_FALSE(s.find_dataset("c"));
  auto list = s.list_datasets(0, 10);
  ASSERT_EQ(list.size(), 2U);
  EXPECT_EQ(list[0].name, "a");
  EXPECT_EQ(list[1].name, "b");
  // Ids are never reused, even after a delete and reopen.
  auto d = s.create_dataset(desc("d", 1, 1), {{1}});
  EXPECT_GT(d.id, list[1].id + 1);
}

TEST(State, WalAndFullSync) {
  TempDir dir;
  auto file = dir.path() / "state.db";
  State s(file);
  EXPECT_EQ(pragma(file, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma(file, "PRAGMA user_version"), "2");
}

TEST(State, Errors) {
  TempDir dir;
  State s(dir.path() / "state.db");
  s.create_dataset(desc("a", 1, 1), {{1}});
  EXPECT_EQ(error_of([&] { s.create_dataset(desc("a", 1, 1), {{2}}); }), EEXIST);
  EXPECT_EQ(error_of([&] { s.create_dataset(desc("b", 0x2000, 1), {{2}}); }), EINVAL);
  EXPECT_EQ(error_of([&] { s.create_dataset(desc("b", 1, 2), {{2}}); }), EINVAL);
  EXPECT_FALSE(s.find_dataset("b"));  // the failed create left nothing behind
  EXPECT_EQ(s.list_datasets(0, 10).size(), 1U);
  EXPECT_EQ(error_of([&] { s.set_node_state(9, NodeState::dead); }), ENOENT);
  EXPECT_EQ(error_of([&] { s.set_placement(99, 0, {1}); }), ENOENT);
  EXPECT_FALSE(s.delete_dataset("zzz"));
}

TEST(State, RefusesForeignOrNewerFiles) {
  TempDir dir;
  auto foreign = dir.path() / "foreign.db";
  {
    sqlite3* db = nullptr;
    sqlite3_open(foreign.c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  EXPECT_EQ(error_of([&] { State s(foreign); }), EPROTO);
  auto newer = dir.path() / "newer.db";
  { State s(newer); }
  {
    sqlite3* db = nullptr;
    sqlite3_open(newer.c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 3", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  EXPECT_EQ(error_of([&] { State s(newer); }), EPROTO);
  auto garbage = dir.path() / "garbage.db";
  std::ofstream(garbage) << std::string(4096, 'x');
  EXPECT_EQ(error_of([&] { State s(garbage); }), EIO);
  EXPECT_EQ(error_of([&] { State s(dir.path() / "no" / "such" / "dir.db"); }), EIO);
}

// A file written by a dispatcher of schema 1 (no incarnation) opens with its nodes and
// datasets intact; their incarnation is unknown (0) until the nodes join again.
TEST(State, UpgradesSchema1) {
  TempDir dir;
  auto file = dir.path() / "v1.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
CREATE TABLE nodes (id INTEGER PRIMARY KEY, uuid BLOB NOT NULL UNIQUE, address BLOB NOT NULL,
  port INTEGER NOT NULL, family INTEGER NOT NULL, capacity INTEGER NOT NULL,
  free INTEGER NOT NULL, state INTEGER NOT NULL);
CREATE TABLE datasets (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
  length INTEGER NOT NULL, mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,
  model INTEGER NOT NULL, replicas INTEGER NOT NULL, chunk_size INTEGER NOT NULL);
CREATE TABLE placement (dataset INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  chunk INTEGER NOT NULL, home INTEGER NOT NULL, replicas TEXT NOT NULL,
  PRIMARY KEY (dataset, chunk));
INSERT INTO nodes VALUES (4, x'04040404040404040404040404040404', x'7f000001', 7004, 4, 100, 50, 1);
PRAGMA user_version = 1;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  {
    State s(file);
    EXPECT_EQ(s.user_version(), State::schema_version);
    auto nodes = s.nodes();
    ASSERT_EQ(nodes.size(), 1U);
    EXPECT_EQ(nodes[0].id, 4U);
    EXPECT_EQ(nodes[0].capacity, 100U);
    EXPECT_EQ(nodes[0].incarnation, 0U);
    auto n = nodes[0];
    n.incarnation = 77;
    s.put_node(n);
  }
  State s(file);
  ASSERT_EQ(s.nodes().size(), 1U);
  EXPECT_EQ(s.nodes()[0].incarnation, 77U);
}

TEST(State, ListPaginates) {
  TempDir dir;
  State s(dir.path() / "state.db");
  for (int i = 0; i < 10; ++i) s.create_dataset(desc("d" + std::to_string(i), 1, 1), {{1}});
  auto first = s.list_datasets(0, 4);
  ASSERT_EQ(first.size(), 4U);
  auto rest = s.list_datasets(first.back().id, 100);
  ASSERT_EQ(rest.size(), 6U);
  EXPECT_EQ(rest.front().name, "d4");
}
