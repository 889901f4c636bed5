#include "providers/mysql/mysql_connection.h"
#include "engine/mysql_errors.h"

#include <mysql.h>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

namespace replplan {
namespace {

// mysql_library_init is not thread-safe; the first connection of any thread runs it, once.
void EnsureLibraryInit() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

// Each thread that uses the client library needs mysql_thread_init before and mysql_thread_end
// when it exits (or the library leaks per-thread state); a thread_local guard does both.
struct ThreadGuard {
  ThreadGuard() { mysql_thread_init(); }
  ~ThreadGuard() { mysql_thread_end(); }
};

void EnsureThreadInit() {
  EnsureLibraryInit();
  thread_local ThreadGuard guard;
}

unsigned int Seconds(int ms) { return ms <= 0 ? 1u : static_cast<unsigned int>((ms + 999) / 1000); }

// "... near 'STATEMENT TEXT' at line 1" -> "... near (the statement, left out) at line 1".
std::string WithoutStatementExcerpt(std::string text) {
  const size_t from = text.find("near '");
  const size_t to = text.rfind("' at line ");
  if (from == std::string::npos || to == std::string::npos || to < from + 5) return text;
  return text.substr(0, from) + "near (the statement, left out: it holds a secret)" + text.substr(to + 1);
}

// Whether a TCP connection to host:port is accepted within `ms` (a non-blocking connect and a poll,
// to the millisecond). "" when it is; else why not, in words. For a connect bound below a second,
// which Connector/C cannot keep (it counts whole seconds): an address that answers nothing (dropped
// packets, a host down) is known as such after `ms`, not after 1 s.
std::string TcpAnswersWithin(const std::string& host, int port, int ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return std::string("cannot resolve the address: ") + gai_strerror(rc);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  std::string why = "no TCP answer within " + std::to_string(ms) + " ms";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    bool accepted = false;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      accepted = true;
    } else if (errno == EINPROGRESS) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLOUT, 0};
      if (left.count() > 0 && poll(&p, 1, static_cast<int>(left.count())) == 1) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error == 0) accepted = true;
        else why = std::strerror(error);
      }
    } else {
      why = std::strerror(errno);
    }
    close(fd);
    if (accepted) {
      freeaddrinfo(found);
      return "";
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
  }
  freeaddrinfo(found);
  return why;
}

}  // namespace

Status ClassifyMysqlError(int sql_errno, std::string message) {
  message += " (" + std::to_string(sql_errno) + ")";
  switch (sql_errno) {
    case kErrAccessDenied:
    case kErrAccessDeniedNoPassword:
      return Status::AuthFailed(message).WithSqlErrno(sql_errno);
    case kErrConnLocal:
    case kErrConnRefused:
    case kErrUnknownHost:
    case kErrServerGone:
    case kErrServerLost:
      return Status::Unavailable(message).WithSqlErrno(sql_errno);
    default:
      return Status::Internal(message).WithSqlErrno(sql_errno);
  }
}

std::string MysqlConnection::Endpoint() const { return options_.host + ":" + std::to_string(options_.port); }

Result<std::unique_ptr<MysqlConnection>> MysqlConnection::Connect(const MysqlOptions& options) {
  EnsureThreadInit();
  const std::string endpoint = options.host + ":" + std::to_string(options.port);
  // A bound below Connector/C's whole second: the TCP connect alone is tried first within it.
  if (options.connect_timeout_ms > 0 && options.connect_timeout_ms < 1000) {
    std::string why = TcpAnswersWithin(options.host, options.port, options.connect_timeout_ms);
    if (!why.empty()) return ClassifyMysqlError(kErrConnRefused, "cannot connect to " + endpoint + ": " + why);
  }
  MYSQL* mysql = mysql_init(nullptr);
  if (mysql == nullptr) return Status::Internal("cannot connect to " + endpoint + ": out of memory");

  unsigned int protocol = MYSQL_PROTOCOL_TCP;
  unsigned int connect_timeout = Seconds(options.connect_timeout_ms);
  unsigned int read_timeout = Seconds(options.read_timeout_ms);
  unsigned int write_timeout = Seconds(options.write_timeout_ms);
  mysql_options(mysql, MYSQL_OPT_PROTOCOL, &protocol);
  mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(mysql, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_options(mysql, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
  mysql_options(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");

  if (mysql_real_connect(mysql, options.host.c_str(), options.user.c_str(),
                         options.password.reveal().c_str(), nullptr,
                         static_cast<unsigned int>(options.port), nullptr, 0) == nullptr) {
    unsigned int number = mysql_errno(mysql);
    std::string text = RedactSecrets(mysql_error(mysql), {&options.password});
    mysql_close(mysql);
    std::string what = (number == kErrAccessDenied || number == kErrAccessDeniedNoPassword)
                           ? "cannot log in to " + endpoint + " as " + options.user + ": "
                           : "cannot connect to " + endpoint + ": ";
    return ClassifyMysqlError(static_cast<int>(number), what + text);
  }
  // Every quoted value replplan sends escapes with backslashes (engine/sql_quote.h). A server whose
  // global sql_mode holds NO_BACKSLASH_ESCAPES would read \' as a backslash and the end of the
  // string, and a value could end its literal early; the session drops that mode before any
  // statement. The handshake's status tells, so a server without it costs no round trip.
  std::unique_ptr<MysqlConnection> connection(new MysqlConnection(mysql, options));
  unsigned int server_status = 0;
  mariadb_get_infov(mysql, MARIADB_CONNECTION_SERVER_STATUS, &server_status);
  if ((server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0) {
    Status dropped =
        connection->Execute("SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')");
    if (!dropped.ok()) return dropped.WithContext("cannot turn off NO_BACKSLASH_ESCAPES");
  }
  return connection;
}

MysqlConnection::~MysqlConnection() { mysql_close(mysql_); }

int MysqlConnection::socket() const { return static_cast<int>(mysql_get_socket(mysql_)); }

Status MysqlConnection::LastError(const std::string& what,
                                  const std::vector<const Secret*>& also_redact) const {
  std::vector<const Secret*> secrets = also_redact;
  secrets.push_back(&options_.password);
  std::string text = mysql_error(mysql_);
  // A syntax error quotes the statement from the error on, cut at 80 characters: a statement that
  // carried a secret may have had it cut there, and a part of a secret matches nothing to redact.
  // Such a statement's excerpt is left out whole.
  if (!also_redact.empty()) text = WithoutStatementExcerpt(std::move(text));
  text = RedactSecrets(std::move(text), secrets);
  return ClassifyMysqlError(static_cast<int>(mysql_errno(mysql_)), what + " on " + Endpoint() + ": " + text);
}

Result<std::vector<Row>> MysqlConnection::Query(const std::string& sql,
                                                const std::vector<const Secret*>& also_redact) {
  EnsureThreadInit();
  // The statement text is left out of errors on purpose: it may carry a password.
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return LastError("query failed", also_redact);
  return StoreRows(also_redact);
}

Status MysqlConnection::Send(const std::string& sql) {
  EnsureThreadInit();
  if (mysql_send_query(mysql_, sql.data(), sql.size()) != 0) return LastError("query failed", {});
  return Status::OK();
}

bool MysqlConnection::AnswerWaiting(int timeout_ms) const {
  int fd = socket();
  if (fd < 0) return true;  // nothing to wait on: ReadAnswer says what is wrong
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, std::max(timeout_ms, 0)) != 0;
}

Result<std::vector<Row>> MysqlConnection::ReadAnswer() {
  EnsureThreadInit();
  if (mysql_read_query_result(mysql_) != 0) return LastError("query failed", {});
  return StoreRows({});
}

Result<std::vector<Row>> MysqlConnection::StoreRows(const std::vector<const Secret*>& also_redact) {
  MYSQL_RES* result = mysql_store_result(mysql_);
  if (result == nullptr) {
    if (mysql_field_count(mysql_) == 0) return std::vector<Row>{};
    return LastError("reading result failed", also_redact);
  }
  const unsigned int columns = mysql_num_fields(result);
  MYSQL_FIELD* fields = mysql_fetch_fields(result);
  std::vector<Row> rows;
  rows.reserve(mysql_num_rows(result));
  while (MYSQL_ROW values = mysql_fetch_row(result)) {
    unsigned long* lengths = mysql_fetch_lengths(result);
    Row row;
    for (unsigned int i = 0; i < columns; ++i) {
      row[std::string(fields[i].name, fields[i].name_length)] =
          values[i] == nullptr ? std::string() : std::string(values[i], lengths[i]);
    }
    rows.push_back(std::move(row));
  }
  mysql_free_result(result);
  // Drain further result sets (a multi-statement string), so the connection stays usable.
  while (mysql_more_results(mysql_) && mysql_next_result(mysql_) == 0) {
    if (MYSQL_RES* extra = mysql_store_result(mysql_)) mysql_free_result(extra);
  }
  return rows;
}

Status MysqlConnection::Execute(const std::string& sql, const std::vector<const Secret*>& also_redact) {
  auto rows = Query(sql, also_redact);
  return rows.ok() ? Status::OK() : rows.status();
}

std::string MysqlConnection::Escape(std::string_view value) {
  std::string out(value.size() * 2 + 1, '\0');
  unsigned long n = mysql_real_escape_string(mysql_, out.data(), value.data(),
                                             static_cast<unsigned long>(value.size()));
  out.resize(n);
  return out;
}

}  // namespace replplan
