// One SQL connection to a MariaDB/MySQL server over libmariadb (Connector/C), RAII over MYSQL*.
//
// Always TCP, never the unix socket: replplan reaches servers at the addresses the topology names,
// and a "localhost" that silently meant a socket would read some other server. Errors are
// classified so callers can tell "wrong password" from "host down" from "bad statement", and every
// error text carries the MySQL error number and has the password redacted.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/live_state.h"
#include "engine/secret.h"
#include "engine/status.h"

struct st_mysql;

namespace replplan {

struct MysqlOptions {
  std::string host;  // an address; connected over TCP even if it is "localhost"
  int port = 3306;
  std::string user;
  Secret password;
  // Connector/C counts whole seconds (rounded up); a bound below 1 s is kept to the millisecond for
  // the TCP connect (tried alone first: an address that answers nothing fails after it, with 2003).
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 30000;
  int write_timeout_ms = 30000;
};

// A failure Connector/C reported as error `sql_errno`, classified as Connect says below, with
// " (NNNN)" appended to `message` for people (code reads sql_errno()). The fake server
// (providers/testing/fake_server.h) words its errors through it too.
Status ClassifyMysqlError(int sql_errno, std::string message);

class MysqlConnection {
 public:
  // 1045/1698 -> AuthFailed, 2002/2003/2005/2006/2013 -> Unavailable, anything else -> Internal.
  // Message: "cannot connect to 127.0.0.99:3306: Can't connect to server on ... (2003)"; the number
  // is also the Status's sql_errno(), which is what code compares (the text is for people).
  static Result<std::unique_ptr<MysqlConnection>> Connect(const MysqlOptions& options);

  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // Rows keyed by the column names of the result metadata; SQL NULL becomes "". A statement that
  // returns no result set gives no rows. `also_redact` lists further secrets the statement or the
  // server's reply may contain (e.g. a replication password in CHANGE MASTER).
  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<const Secret*>& also_redact = {});
  Status Execute(const std::string& sql, const std::vector<const Secret*>& also_redact = {});

  // The same round trip in two halves, for a caller that bounds the wait itself to the millisecond
  // (Connector/C's read timeout counts whole seconds): Send writes the statement and returns;
  // AnswerWaiting polls socket() for the answer (or the server closing the connection) up to
  // `timeout_ms` (0: just look); ReadAnswer reads it, as Query would. Nothing else may be sent
  // before the answer is read; a connection whose answer never came is closed, not reused.
  Status Send(const std::string& sql);
  bool AnswerWaiting(int timeout_ms) const;
  Result<std::vector<Row>> ReadAnswer();

  // mysql_real_escape_string with this connection's character set; the result goes between
  // single quotes.
  std::string Escape(std::string_view value);

  const MysqlOptions& options() const { return options_; }
  // The connection's TCP socket, to poll() for the server closing it (a killed server's kernel
  // closes it at once) without a round trip; -1 when unknown.
  int socket() const;
  // "127.0.0.61:3306", for messages.
  std::string Endpoint() const;

 private:
  MysqlConnection(st_mysql* mysql, MysqlOptions options) : mysql_(mysql), options_(std::move(options)) {}
  Status LastError(const std::string& what, const std::vector<const Secret*>& also_redact) const;
  // The result of the statement whose answer was just read (mysql_real_query or
  // mysql_read_query_result), as rows.
  Result<std::vector<Row>> StoreRows(const std::vector<const Secret*>& also_redact);

  st_mysql* mysql_;
  MysqlOptions options_;
};

}  // namespace replplan
