// SPDX-License-Identifier: MIT
#include "state.hpp"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>

#include <sqlite3.h>

namespace dspm::dispatcher {

namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what, int code = EIO) {
  std::string msg = "state: " + what;
  if (db != nullptr) msg += ": " + std::string(sqlite3_errmsg(db));
  throw std::system_error(code, std::generic_category(), msg);
}

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string msg = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    throw std::system_error(EIO, std::generic_category(),
                            std::string("state: ") + sql + ": " + msg);
  }
}

// One prepared statement.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      fail(db, std::string("prepare ") + sql);
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::uint64_t v) {
    check(sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(v)));
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind_blob(int i, const void* p, std::size_t n) {
    check(sqlite3_bind_blob(stmt_, i, p, static_cast<int>(n), SQLITE_TRANSIENT));
    return *this;
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  // True while there is a row; false when done.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) fail(db_, "constraint", EEXIST);
    fail(db_, "step");
  }
  std::uint64_t u64(int col) const {
    return static_cast<std::uint64_t>(sqlite3_column_int64(stmt_, col));
  }
  std::uint32_t u32(int col) const { return static_cast<std::uint32_t>(u64(col)); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
  }
  template <std::size_t N>
  void blob(int col, std::array<std::uint8_t, N>& out) const {
    out.fill(0);
    const void* p = sqlite3_column_blob(stmt_, col);
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
    if (p != nullptr) std::memcpy(out.data(), p, std::min(n, N));
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(db_, "bind");
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back unless commit() was reached.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(db_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

constexpr const char* schema_v1 = R"sql(
CREATE TABLE nodes (
  id       INTEGER PRIMARY KEY,
  uuid     BLOB    NOT NULL UNIQUE,
  address  BLOB    NOT NULL,
  port     INTEGER NOT NULL,
  family   INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  free     INTEGER NOT NULL,
  state    INTEGER NOT NULL
);
CREATE TABLE datasets (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT    NOT NULL UNIQUE,
  length     INTEGER NOT NULL,
  mode       INTEGER NOT NULL,
  uid        INTEGER NOT NULL,
  gid        INTEGER NOT NULL,
  model      INTEGER NOT NULL,
  replicas   INTEGER NOT NULL,
  chunk_size INTEGER NOT NULL
);
CREATE TABLE placement (
  dataset  INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  chunk    INTEGER NOT NULL,
  home     INTEGER NOT NULL,
  replicas TEXT    NOT NULL,
  PRIMARY KEY (dataset, chunk)
);
PRAGMA user_version = 1;
)sql";

// Version 2: the node's incarnation, so a node that restarted while the dispatcher was
// down is still seen to have restarted.
constexpr const char* schema_v2 = R"sql(
ALTER TABLE nodes ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0;
PRAGMA user_version = 2;
)sql";

std::string join_replicas(const ChunkNodes& nodes) {
  std::string s;
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    if (i > 1) s += ',';
    s += std::to_string(nodes[i]);
  }
  return s;
}

ChunkNodes split_replicas(std::uint32_t home, const std::string& s) {
  ChunkNodes nodes{home};
  std::istringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    nodes.push_back(static_cast<std::uint32_t>(std::stoul(item)));
  }
  return nodes;
}

constexpr const char* dataset_columns =
    "id, name, length, mode, uid, gid, model, replicas, chunk_size";

DatasetDesc read_dataset(const Stmt& s) {
  DatasetDesc d;
  d.id = s.u64(0);
  d.name = s.text(1);
  d.length = s.u64(2);
  d.mode = s.u32(3);
  d.uid = s.u32(4);
  d.gid = s.u32(5);
  d.model = s.u32(6);
  d.replicas = s.u32(7);
  d.chunk_size = s.u64(8);
  d.chunks =
      d.chunk_size == 0 ? 0 : static_cast<std::uint32_t>(chunk_count(d.length, d.chunk_size));
  return d;
}

}  // namespace

State::State(const std::filesystem::path& path) {
  int rc =
      sqlite3_open_v2(path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "state: open " + path.string() + ": " +
                      (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::system_error(EIO, std::generic_category(), msg);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);
    exec(db_, "PRAGMA journal_mode = WAL");
    exec(db_, "PRAGMA synchronous = FULL");
    exec(db_, "PRAGMA foreign_keys = ON");
    int version = user_version();
    if (version == 0) {
      Transaction tx(db_);
      // An unversioned file must be empty: never adopt somebody else's database.
      Stmt count(db_, "SELECT count(*) FROM sqlite_master");
      count.step();
      if (count.u64(0) != 0) {
        fail(nullptr, path.string() + ": not a dspm dispatcher state file", EPROTO);
      }
      exec(db_, schema_v1);
      exec(db_, schema_v2);
      tx.commit();
    } else if (version == 1) {
      Transaction tx(db_);
      exec(db_, schema_v2);
      tx.commit();
    } else if (version != schema_version) {
      fail(nullptr, path.string() + ": unknown schema version " + std::to_string(version), EPROTO);
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

State::~State() {
  sqlite3_close(db_);
}

int State::user_version() const {
  Stmt s(db_, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.u64(0));
}

void State::put_node(const NodeEntry& n) {
  Transaction tx(db_);
  Stmt s(db_,
         "INSERT OR REPLACE INTO nodes (id, uuid, address, port, family, capacity, free, state,"
         " incarnation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, std::uint64_t{n.id})
      .bind_blob(2, n.uuid.data(), n.uuid.size())
      .bind_blob(3, n.addr.addr.data(), n.addr.addr.size())
      .bind(4, std::uint64_t{n.addr.port})
      .bind(5, std::uint64_t{n.addr.family})
      .bind(6, n.capacity)
      .bind(7, n.free)
      .bind(8, std::uint64_t{static_cast<std::uint32_t>(n.state)})
      .bind(9, n.incarnation);
  s.step();
  tx.commit();
}

void State::set_node_state(std::uint32_t id, NodeState state) {
  Transaction tx(db_);
  Stmt s(db_, "UPDATE nodes SET state = ? WHERE id = ?");
  s.bind(1, std::uint64_t{static_cast<std::uint32_t>(state)}).bind(2, std::uint64_t{id});
  s.step();
  if (sqlite3_changes(db_) == 0) fail(nullptr, "no node " + std::to_string(id), ENOENT);
  tx.commit();
}

std::vector<NodeEntry> State::nodes() const {
  Stmt s(db_,
         "SELECT id, uuid, address, port, family, capacity, free, state, incarnation FROM nodes"
         " ORDER BY id");
  std::vector<NodeEntry> out;
  while (s.step()) {
    NodeEntry n;
    n.id = s.u32(0);
    s.blob(1, n.uuid);
    s.blob(2, n.addr.addr);
    n.addr.port = static_cast<std::uint16_t>(s.u64(3));
    n.addr.family = static_cast<std::uint16_t>(s.u64(4));
    n.capacity = s.u64(5);
    n.free = s.u64(6);
    n.state = static_cast<NodeState>(s.u32(7));
    n.incarnation = s.u64(8);
    out.push_back(n);
  }
  return out;
}

DatasetDesc State::create_dataset(const DatasetDesc& desc, const std::vector<ChunkNodes>& chunks) {
  if (desc.chunk_size == 0 || chunks.size() != chunk_count(desc.length, desc.chunk_size)) {
    fail(nullptr, "create " + desc.name + ": placement does not match the chunk count", EINVAL);
  }
  Transaction tx(db_);
  {
    Stmt exists(db_, "SELECT 1 FROM datasets WHERE name = ?");
    exists.bind(1, desc.name);
    if (exists.step()) fail(nullptr, "dataset " + desc.name + " exists", EEXIST);
  }
  Stmt s(db_,
         "INSERT INTO datasets (name, length, mode, uid, gid, model, replicas, chunk_size)"
         " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, desc.name)
      .bind(2, desc.length)
      .bind(3, std::uint64_t{desc.mode})
      .bind(4, std::uint64_t{desc.uid})
      .bind(5, std::uint64_t{desc.gid})
      .bind(6, std::uint64_t{desc.model})
      .bind(7, std::uint64_t{desc.replicas})
      .bind(8, desc.chunk_size);
  s.step();
  DatasetDesc out = desc;
  out.id = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db_));
  out.chunks = static_cast<std::uint32_t>(chunks.size());
  Stmt row(db_, "INSERT INTO placement (dataset, chunk, home, replicas) VALUES (?, ?, ?, ?)");
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    if (chunks[c].size() != desc.replicas) {
      fail(nullptr, "create " + desc.name + ": chunk without its replicas", EINVAL);
    }
    row.reset();
    row.bind(1, out.id).bind(2, std::uint64_t{c}).bind(3, std::uint64_t{chunks[c][0]});
    row.bind(4, join_replicas(chunks[c]));
    row.step();
  }
  tx.commit();
  return out;
}

std::optional<DatasetDesc> State::delete_dataset(std::string_view name) {
  Transaction tx(db_);
  std::optional<DatasetDesc> found;
  {
    Stmt s(db_,
           (std::string("SELECT ") + dataset_columns + " FROM datasets WHERE name = ?").c_str());
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    found = read_dataset(s);
  }
  Stmt del(db_, "DELETE FROM datasets WHERE id = ?");
  del.bind(1, found->id);
  del.step();
  tx.commit();
  return found;
}

std::optional<DatasetReply> State::find_dataset(std::string_view name) const {
  Stmt s(db_, (std::string("SELECT ") + dataset_columns + " FROM datasets WHERE name = ?").c_str());
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  DatasetReply out;
  out.dataset = read_dataset(s);
  Stmt p(db_, "SELECT chunk, home, replicas FROM placement WHERE dataset = ? ORDER BY chunk");
  p.bind(1, out.dataset.id);
  while (p.step()) {
    if (p.u64(0) != out.chunks.size())
      fail(nullptr, "placement of " + out.dataset.name + " has a hole");
    out.chunks.push_back(split_replicas(p.u32(1), p.text(2)));
  }
  if (out.chunks.size() != out.dataset.chunks) {
    fail(nullptr, "placement of " + out.dataset.name + " is incomplete");
  }
  return out;
}

std::vector<DatasetDesc> State::list_datasets(std::uint64_t cursor, std::uint32_t max) const {
  Stmt s(db_, (std::string("SELECT ") + dataset_columns +
               " FROM datasets WHERE id > ? ORDER BY id LIMIT ?")
                  .c_str());
  s.bind(1, cursor).bind(2, std::uint64_t{max});
  std::vector<DatasetDesc> out;
  while (s.step()) out.push_back(read_dataset(s));
  return out;
}

void State::set_placement(std::uint64_t dataset, std::uint32_t chunk, const ChunkNodes& nodes) {
  if (nodes.empty()) fail(nullptr, "set_placement: no nodes", EINVAL);
  Transaction tx(db_);
  Stmt s(db_, "UPDATE placement SET home = ?, replicas = ? WHERE dataset = ? AND chunk = ?");
  s.bind(1, std::uint64_t{nodes[0]}).bind(2, join_replicas(nodes)).bind(3, dataset);
  s.bind(4, std::uint64_t{chunk});
  s.step();
  if (sqlite3_changes(db_) == 0) {
    fail(nullptr, "no chunk " + std::to_string(chunk) + " of dataset " + std::to_string(dataset),
         ENOENT);
  }
  tx.commit();
}

}  // namespace dspm::dispatcher
