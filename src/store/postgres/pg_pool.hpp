// Connections to one PostgreSQL database: a bounded pool shared by the store's callers, each
// connection with every statement of the store prepared on it under the statement's name.
// Thread safety: Acquire from any thread; a Lease belongs to the thread that holds it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "store/statement.hpp"
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
  // One row, read as store/store_rows.hpp's decoders read it.
  class Row {
   public:
    Row(const Rows& rows, int row) : rows_(rows), row_(row) {}
    std::string Text(int column) const { return rows_.Text(row_, column); }
    int64_t Int(int column) const { return rows_.Int(row_, column); }

   private:
    const Rows& rows_;
    int row_;
  };
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t Affected() const;

 private:
  pg_result* result_;
};

// A parameter as libpq's text format sends it.
inline std::string ParamText(std::string_view text) { return std::string(text); }
inline std::string ParamText(int64_t number) { return std::to_string(number); }

class Connection {
 public:
  explicit Connection(pg_conn* conn);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a statement prepared on this connection (by its name) with exactly its parameters.
  // Fails with kStorageUnavailable when the connection or the server is gone, kConflict on a
  // unique violation, kStorageFailure otherwise (the detail names the statement and
  // PostgreSQL's message, never a value).
  template <typename... Params>
  Result<Rows> Run(const Statement<Params...>& statement, std::type_identity_t<Params>... params) {
    return RunText(statement.text, {ParamText(params)...});
  }
  Result<Rows> RunText(const StatementText& statement, const std::vector<std::string>& params);
  // Runs one SQL text without parameters (BEGIN, COMMIT, NOTIFY ...), same failures.
  Result<Rows> Exec(const char* sql);
  bool Broken() const;
  // False when the server has ended the connection (reads what is waiting; never blocks).
  bool StillOpen();
  pg_conn* raw() { return conn_; }

 private:
  pg_conn* conn_;
};

class Pool {
 public:
  // `url`: a postgresql:// URI (libpq syntax); `size`: most connections open at once.
  // `statements` are prepared on every connection the pool opens.
  Pool(std::string url, int size, std::vector<const StatementText*> statements);
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
  // A connection with a transaction begun on it (BEGIN sent), retried once on a fresh
  // connection when a reused one turns out dead, as RunText does.
  Result<Lease> Begin();
  // Runs `body(connection)` in one transaction: BEGIN, the body, then COMMIT when it succeeded
  // (ROLLBACK when it failed); answers what the body answered. When the connection turns out
  // dead before COMMIT was sent (the body failed on it, or it is found closed just before),
  // PostgreSQL has rolled the transaction back, so the body runs once more on a fresh connection
  // (idle ones dropped: a restart or pg_terminate_backend ends them all). Once COMMIT was sent
  // the outcome is unknown: its failure is answered (503), never retried. The body may run
  // twice, so it starts afresh and touches nothing but the connection.
  template <typename Body>
  auto Transact(Body body) -> std::invoke_result_t<Body&, Connection&>;
  // Runs a statement on a pooled connection, as Connection::Run; retries once on a fresh
  // connection when a reused one turns out dead and the statement allows it.
  template <typename... Params>
  Result<Rows> Run(const Statement<Params...>& statement, std::type_identity_t<Params>... params) {
    return RunText(statement.text, {ParamText(params)...});
  }
  Result<Rows> RunText(const StatementText& statement, const std::vector<std::string>& params) {
    return RunOnce(statement, params,
                   statement.retry_on_reconnect ? Resend::kIfDiedIdle : Resend::kNever);
  }
  // Runs one autocommit statement as Run does, and once more on a fresh connection (idle ones
  // dropped, as Transact does) when the connection was lost before its result came, whether it
  // had sat idle or ended during the statement (pg_terminate_backend of a backend waiting for a
  // row lock). Whether the first run committed is then unknown, so only for a statement whose
  // second run leaves the caller with the same outcome either way: each caller says why.
  template <typename... Params>
  Result<Rows> RunResendingIfLost(const Statement<Params...>& statement,
                                  std::type_identity_t<Params>... params) {
    return RunOnce(statement.text, {ParamText(params)...}, Resend::kIfLost);
  }

  // Opens a connection outside the pool (the notification listener, migrations).
  static Result<pg_conn*> Connect(const std::string& url);

 private:
  void GiveBack(std::unique_ptr<Connection> connection);
  // Closes every idle connection: one found dead means the server most likely ended them all
  // (a restart), so a retry must not be handed the next dead one.
  void DropIdle();
  // Whether `failure` on `lease` is that of a connection the server ended while it sat idle
  // (a restart): the one failure worth one more try, on a fresh connection.
  static bool DiedIdle(const Error& failure, Lease& lease);
  // After DiedIdle: `dead` given back, every idle connection dropped, and a fresh one taken.
  Result<Lease> Replace(Lease& dead);
  // When a statement is sent once more on a fresh connection: never, when its reused
  // connection had died idle (it cannot have run), or whenever the connection was lost.
  enum class Resend { kNever, kIfDiedIdle, kIfLost };
  Result<Rows> RunOnce(const StatementText& statement, const std::vector<std::string>& params,
                       Resend resend);

  const std::string url_;
  const int size_;
  const std::vector<const StatementText*> statements_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // idle + leased + being opened
  std::chrono::steady_clock::time_point last_failure_{};
};

template <typename Body>
auto Pool::Transact(Body body) -> std::invoke_result_t<Body&, Connection&> {
  for (int attempt = 1;; ++attempt) {
    auto lease = Begin();
    if (!lease) return lease.error();
    Connection& conn = **lease;
    auto answer = body(conn);
    if (attempt == 1 && !conn.StillOpen()) {  // lost before COMMIT: nothing of it was kept
      { auto dropped = std::move(*lease); }
      DropIdle();
      continue;
    }
    if (!answer) {
      (void)conn.Exec("ROLLBACK");
      return answer;
    }
    if (auto committed = conn.Exec("COMMIT"); !committed) return committed.error();
    return answer;
  }
}

// Decodes every row of `rows` with `decode` (store/store_rows.hpp).
template <typename T>
Result<std::vector<T>> ReadAll(const Rows& rows, Result<T> (*decode)(const Rows::Row&)) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(rows.Count()));
  for (int i = 0; i < rows.Count(); ++i) {
    Result<T> row = decode(Rows::Row(rows, i));
    if (!row) return row.error();
    out.push_back(std::move(*row));
  }
  return out;
}

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db": for logs and errors.
std::string RedactUrl(std::string_view url);

}  // namespace gatehouse::store::pg
