// Connections to one PostgreSQL database: a bounded pool shared by the store's callers, each
// connection with every statement of the store prepared on it.
// Thread safety: Acquire from any thread; a Lease belongs to the thread that holds it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

// Opaque libpq handles; libpq-fe.h stays inside src/store/postgres/*.cpp.
struct pg_conn;
struct pg_result;

namespace gatehouse::store::pg {

// One result set. Rows and columns are 0-based; values are read as text.
class Rows {
 public:
  explicit Rows(pg_result* result);
  ~Rows();
  Rows(Rows&& other) noexcept;
  Rows& operator=(Rows&&) = delete;
  Rows(const Rows&) = delete;

  int Count() const;
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  pg_result* result_;
};

// A statement the pool prepares on every connection, by its index in the pool's list.
struct StatementSpec {
  const char* sql;
  // Safe to send again on a fresh connection when the first attempt lost its connection (it
  // reads, or writes idempotently).
  bool retry_on_reconnect;
};

class Connection {
 public:
  Connection(pg_conn* conn, const std::vector<StatementSpec>& statements);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs prepared statement `index` with text parameters. Fails with kStorageUnavailable when
  // the connection or the server is gone, kConflict on a unique violation, kStorageFailure
  // otherwise (the detail names the statement and PostgreSQL's message, never a value).
  Result<Rows> Run(std::size_t index, const std::vector<std::string>& params);
  // Runs one SQL text without parameters (BEGIN, COMMIT, NOTIFY ...), same failures.
  Result<Rows> Exec(const char* sql);
  bool Broken() const;
  pg_conn* raw() { return conn_; }

 private:
  pg_conn* conn_;
  const std::vector<StatementSpec>& statements_;
};

class Pool {
 public:
  // `url`: a postgresql:// URI (libpq syntax); `size`: most connections open at once.
  Pool(std::string url, int size, std::vector<StatementSpec> statements);
  ~Pool();

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> connection, bool reused)
        : pool_(pool), connection_(std::move(connection)), reused_(reused) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection* operator->() { return connection_.get(); }
    Connection& operator*() { return *connection_; }
    // Whether the connection sat idle in the pool before (it may have died meanwhile).
    bool reused() const { return reused_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
    bool reused_;
  };

  // A connection, opened when none is idle and fewer than `size` exist. Waits for one to be
  // given back when all are busy. kStorageUnavailable when the database cannot be reached
  // (after a failed attempt, new attempts wait a second instead of hammering it).
  Result<Lease> Acquire();
  // Runs statement `index` on a pooled connection; retries once on a fresh connection when a
  // reused one turns out dead and the statement allows it.
  Result<Rows> Run(std::size_t index, const std::vector<std::string>& params);

  // Opens a connection outside the pool (the notification listener, migrations).
  static Result<pg_conn*> Connect(const std::string& url);
  const std::vector<StatementSpec>& statements() const { return statements_; }

 private:
  void GiveBack(std::unique_ptr<Connection> connection);

  const std::string url_;
  const int size_;
  const std::vector<StatementSpec> statements_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // idle + leased + being opened
  std::chrono::steady_clock::time_point last_failure_{};
};

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db": for logs and errors.
std::string RedactUrl(std::string_view url);

}  // namespace gatehouse::store::pg
