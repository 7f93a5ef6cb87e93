#include "store/postgres/pg_pool.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>

namespace gatehouse::store::pg {
namespace {

// A caller waits this long for a busy pool before giving up with 503.
constexpr auto kAcquireTimeout = std::chrono::seconds(5);
// After a failed connect, callers fail fast for this long instead of each trying again.
constexpr auto kReconnectPause = std::chrono::milliseconds(500);

Error Unavailable(std::string detail) {
  return Error{ErrorCode::kStorageUnavailable, "database: " + std::move(detail)};
}
Error Failure(std::string detail) {
  return Error{ErrorCode::kStorageFailure, "database: " + std::move(detail)};
}

// SQLSTATE classes that mean "not now" rather than "never": connection exceptions (08),
// shutting down or starting up (57P01-57P03), too many connections (53300), a read-only
// standby after a failover (25006), and a serialisation conflict (40001).
bool IsTransient(std::string_view state) {
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300" || state == "25006" || state == "40001";
}

// PostgreSQL's primary message names tables and constraints; the DETAIL line can quote values
// (a duplicate key), so it is never used.
std::string PrimaryMessage(const PGresult* result, PGconn* conn) {
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (primary != nullptr) return primary;
  std::string message = PQerrorMessage(conn);
  message.erase(std::find(message.begin(), message.end(), '\n'), message.end());
  return message;
}

Result<Rows> Check(PGresult* raw, PGconn* conn, std::string_view what) {
  Rows rows(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  const char* state_field = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_field ? state_field : "";
  std::string detail = std::string(what) + ": " + PrimaryMessage(raw, conn);
  if (PQstatus(conn) != CONNECTION_OK || IsTransient(state)) return Unavailable(std::move(detail));
  if (state == "23505") return Error{ErrorCode::kConflict, "database: " + std::move(detail)};
  return Failure(std::move(detail) + " (SQLSTATE " + state + ")");
}

bool HasNul(const std::vector<std::string>& params) {
  return std::any_of(params.begin(), params.end(),
                     [](const std::string& p) { return p.find('\0') != std::string::npos; });
}

}  // namespace

Rows::Rows(pg_result* result) : result_(result) {}
Rows::~Rows() {
  if (result_ != nullptr) PQclear(result_);
}
Rows::Rows(Rows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
int Rows::Count() const { return PQntuples(result_); }
std::string Rows::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}
int64_t Rows::Int(int row, int column) const {
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}
int64_t Rows::Affected() const { return std::strtoll(PQcmdTuples(result_), nullptr, 10); }

Connection::Connection(pg_conn* conn) : conn_(conn) {}
Connection::~Connection() { PQfinish(conn_); }

bool Connection::Broken() const { return PQstatus(conn_) != CONNECTION_OK; }

bool Connection::StillOpen() {
  // A server that ended this connection while it sat idle (a restart, pg_terminate_backend)
  // has usually closed the socket already; libpq's socket is non-blocking, so this read only
  // notices that and never waits.
  if (PQstatus(conn_) == CONNECTION_OK) (void)PQconsumeInput(conn_);
  return PQstatus(conn_) == CONNECTION_OK;
}

Result<Rows> Connection::RunText(const StatementText& statement,
                                 const std::vector<std::string>& params) {
  // Text parameters end at the first NUL; PostgreSQL text cannot hold one anyway.
  if (HasNul(params)) return Failure("a parameter holds a NUL byte");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& param : params) values.push_back(param.c_str());
  PGresult* result = PQexecPrepared(conn_, statement.name, static_cast<int>(values.size()),
                                    values.data(), nullptr, nullptr, 0);
  return Check(result, conn_, statement.name);
}

Result<Rows> Connection::Exec(const char* sql) { return Check(PQexec(conn_, sql), conn_, sql); }

Pool::Lease::~Lease() {
  if (connection_) pool_->GiveBack(std::move(connection_));
}

Pool::Pool(std::string url, int size, std::vector<const StatementText*> statements)
    : url_(std::move(url)), size_(std::max(size, 1)), statements_(std::move(statements)) {}

Pool::~Pool() = default;

Result<pg_conn*> Pool::Connect(const std::string& url) {
  // Defaults first: values in the URL itself win (expand_dbname parses it in place).
  const char* keywords[] = {"connect_timeout",  "application_name", "keepalives_idle",
                            "tcp_user_timeout", "dbname",           nullptr};
  const char* values[] = {"3", "gatehouse", "10", "10000", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return Unavailable("connect: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    message.erase(std::find(message.begin(), message.end(), '\n'), message.end());
    PQfinish(conn);
    // libpq may quote the URI it was given; only the redacted form may reach a log.
    const std::string redacted = RedactUrl(url);
    for (std::size_t at = message.find(url); at != std::string::npos && redacted != url;
         at = message.find(url, at + redacted.size())) {
      message.replace(at, url.size(), redacted);
    }
    return Unavailable("connect to " + RedactUrl(url) + ": " + message);
  }
  // NOTICEs ("relation already exists, skipping") are not errors and must not reach stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  // A statement or a transaction left hanging must not hold a connection (and the events it
  // locks) for ever. Engines without these settings ignore the failure.
  PQclear(PQexec(conn, "SET statement_timeout = 10000"));
  PQclear(PQexec(conn, "SET idle_in_transaction_session_timeout = 10000"));
  return conn;
}

Result<Pool::Lease> Pool::Acquire() {
  std::unique_lock lock(mutex_);
  const bool got = available_.wait_for(lock, kAcquireTimeout,
                                       [this] { return !idle_.empty() || open_ < size_; });
  if (!got) return Unavailable("every connection of the pool is busy");
  while (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    if (connection->StillOpen()) return Lease(this, std::move(connection), true);
    --open_;  // closed as `connection` goes
  }
  if (std::chrono::steady_clock::now() - last_failure_ < kReconnectPause) {
    return Unavailable("not reachable (retrying shortly)");
  }
  ++open_;
  lock.unlock();
  auto opened = Connect(url_);
  std::unique_ptr<Connection> connection;
  Status prepared = Ok{};
  if (opened) {
    connection = std::make_unique<Connection>(*opened);
    for (const StatementText* statement : statements_) {
      auto done = Check(PQprepare(*opened, statement->name, statement->sql, 0, nullptr), *opened,
                        std::string("prepare ") + statement->name);
      if (!done) {
        prepared = done.error();
        break;
      }
    }
  }
  lock.lock();
  if (!opened || !prepared) {
    --open_;
    last_failure_ = std::chrono::steady_clock::now();
    available_.notify_one();
    return opened ? prepared.error() : opened.error();
  }
  return Lease(this, std::move(connection), false);
}

void Pool::GiveBack(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  if (connection->Broken()) {
    --open_;  // closed when `connection` goes; the next Acquire opens a fresh one
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

void Pool::DropIdle() {
  std::lock_guard lock(mutex_);
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
  available_.notify_all();
}

bool Pool::DiedIdle(const Error& failure, Lease& lease) {
  return failure.code == ErrorCode::kStorageUnavailable && lease.reused() && lease->Broken();
}

Result<Pool::Lease> Pool::Replace(Lease& dead) {
  // Given back first: the pool may have room for no other connection.
  { auto dropped = std::move(dead); }
  DropIdle();
  return Acquire();
}

Result<Pool::Lease> Pool::Begin() {
  auto lease = Acquire();
  if (!lease) return lease.error();
  auto begun = (*lease)->Exec("BEGIN");
  if (begun) return lease;
  if (!DiedIdle(begun.error(), *lease)) return begun.error();
  auto fresh = Replace(*lease);
  if (!fresh) return fresh.error();
  if (auto again = (*fresh)->Exec("BEGIN"); !again) return again.error();
  return fresh;
}

Result<Rows> Pool::RunOnce(const StatementText& statement, const std::vector<std::string>& params,
                           Resend resend) {
  auto lease = Acquire();
  if (!lease) return lease.error();
  auto rows = (*lease)->RunText(statement, params);
  if (rows || resend == Resend::kNever) return rows;
  const bool lost = rows.error().code == ErrorCode::kStorageUnavailable && (*lease)->Broken();
  if (resend == Resend::kIfDiedIdle ? !DiedIdle(rows.error(), *lease) : !lost) return rows;
  auto fresh = Replace(*lease);
  if (!fresh) return fresh.error();
  return (*fresh)->RunText(statement, params);
}

std::string RedactUrl(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t at = url.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme) {
    return std::string(url.substr(0, url.find('?')));
  }
  const std::size_t colon = url.find(':', scheme + 3);
  std::string redacted(url.substr(0, url.find('?')));
  if (colon != std::string_view::npos && colon < at) {
    redacted.replace(colon + 1, at - colon - 1, "***");
  }
  return redacted;
}

}  // namespace gatehouse::store::pg
