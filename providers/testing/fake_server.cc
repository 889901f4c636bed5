#include "providers/testing/fake_server.h"

#include <poll.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "engine/mysql_errors.h"
#include "engine/text.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/standby_shell.h"

namespace replplan {
namespace {

constexpr int kErrUnknownSystemVariable = 1193;

bool StartsWith(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// Worded and classified as providers/mysql/mysql_connection.cc does what Connector/C reports.
Status MysqlError(int sql_errno, const std::string& what) { return ClassifyMysqlError(sql_errno, what); }

Status QueryError(int sql_errno, const std::string& endpoint, const std::string& detail = "") {
  return MysqlError(sql_errno, "query failed on " + endpoint + ": " +
                                   (detail.empty() ? FakeMysqlErrorText(sql_errno) : detail));
}

bool Unavailable(int sql_errno) { return MysqlError(sql_errno, "").code() == Status::Code::kUnavailable; }

// The value of `option = value` in a CHANGE MASTER TO list, quotes removed; "" when absent.
std::string ChangeOption(const std::string& sql, const std::string& option) {
  size_t at = sql.find(option + " = ");
  if (at == std::string::npos) return "";
  size_t begin = at + option.size() + 3;
  if (begin < sql.size() && sql[begin] == '\'') {
    size_t end = sql.find('\'', begin + 1);
    return sql.substr(begin + 1, end == std::string::npos ? std::string::npos : end - begin - 1);
  }
  size_t end = sql.find(',', begin);
  return std::string(Trim(sql.substr(begin, end == std::string::npos ? std::string::npos : end - begin)));
}

// The items of `SELECT a, b, c`.
std::vector<std::string> SelectList(const std::string& sql) {
  std::vector<std::string> items;
  size_t begin = 7;  // after "SELECT "
  for (size_t comma; (comma = sql.find(", ", begin)) != std::string::npos; begin = comma + 2) {
    items.push_back(sql.substr(begin, comma - begin));
  }
  items.push_back(sql.substr(begin));
  return items;
}

}  // namespace

std::string FakeMysqlErrorText(int sql_errno) {
  switch (sql_errno) {
    case kErrServerLost: return "Lost connection to server during query";
    case kErrServerGone: return "Server has gone away";
    case kErrConnRefused: return "Can't connect to server (111)";
    case kErrAccessDenied: return "Access denied for user 'replplan'@'127.0.0.1' (using password: YES)";
    case kErrMasterInfo:
      return "Misconfigured slave: MASTER_HOST was not set; Fix in config file or with CHANGE MASTER TO";
    case 1205: return "Lock wait timeout exceeded; try restarting transaction";
    case 1290: return "The MariaDB server is running with the --read-only option so it cannot execute this statement";
    case 1227: return "Access denied; you need (at least one of) the SUPER privilege(s) for this operation";
    default: return "error " + std::to_string(sql_errno);
  }
}

// --- FakeServer ---------------------------------------------------------------------------------

Row FakeServer::ReplicaRow(const std::string& host, int port, const std::string& user) {
  return Row{{"Master_Host", host},         {"Master_Port", std::to_string(port)},
             {"Master_User", user},         {"Slave_IO_Running", "Yes"},
             {"Slave_SQL_Running", "Yes"},  {"Slave_IO_State", "Waiting for master to send event"},
             {"Last_IO_Errno", "0"},        {"Last_IO_Error", ""},
             {"Last_SQL_Errno", "0"},       {"Last_SQL_Error", ""},
             {"Using_Gtid", "Slave_Pos"},   {"Seconds_Behind_Master", "0"},
             {"Gtid_IO_Pos", ""},           {"Master_Log_File", ""},
             {"Read_Master_Log_Pos", "4"},  {"Relay_Master_Log_File", ""},
             {"Exec_Master_Log_Pos", "4"},  {"Relay_Log_File", "relay-bin.000001"},
             {"Relay_Log_Pos", "4"}};
}

void FakeServer::Answer(const std::string& statement, std::vector<Row> rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  answers_.push_back({statement, false, std::move(rows)});
}

void FakeServer::AnswerPrefix(const std::string& prefix, std::vector<Row> rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  answers_.push_back({prefix, true, std::move(rows)});
}

void FakeServer::AnswerCommand(const std::string& prefix, ExecResult result) {
  std::lock_guard<std::mutex> lock(mutex_);
  commands_.emplace_back(prefix, std::move(result));
}

void FakeServer::FailStatement(int n, int sql_errno) {
  std::lock_guard<std::mutex> lock(mutex_);
  sql_faults_.push_back({SqlFault::Kind::kFailNth, n, "", sql_errno, {}});
}

void FakeServer::FailNext(const std::string& prefix, int sql_errno) {
  std::lock_guard<std::mutex> lock(mutex_);
  sql_faults_.push_back({SqlFault::Kind::kFailPrefix, 0, prefix, sql_errno, {}});
}

void FakeServer::Freeze(const std::string& prefix, std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mutex_);
  sql_faults_.push_back({SqlFault::Kind::kFreeze, 0, prefix, 0, duration});
}

void FakeServer::DropSqlAfter(int n) {
  std::lock_guard<std::mutex> lock(mutex_);
  drop_after_ = n;
}

void FakeServer::AllowSqlReconnect() {
  std::lock_guard<std::mutex> lock(mutex_);
  sql_down_ = false;
  connect_errno_.reset();
}

void FakeServer::FailShell(const std::string& line_prefix, Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  shell_faults_.push_back({ShellFault::Kind::kFail, line_prefix, std::move(status), {}});
}

void FakeServer::FreezeShell(const std::string& line_prefix, std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mutex_);
  shell_faults_.push_back({ShellFault::Kind::kFreeze, line_prefix, Status::OK(), duration});
}

void FakeServer::DropShell(const std::string& line_prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  shell_faults_.push_back({ShellFault::Kind::kDrop, line_prefix, Status::OK(), {}});
}

void FakeServer::DropStreamAfter(const std::string& line_prefix, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  ShellFault fault{ShellFault::Kind::kDropStreamAfter, line_prefix, Status::OK(), {}};
  fault.bytes = bytes;
  shell_faults_.push_back(std::move(fault));
}

void FakeServer::DropStreams() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& stream : streams_) stream->dropped = true;
}

void FakeServer::FailConnect(int sql_errno) {
  std::lock_guard<std::mutex> lock(mutex_);
  connect_errno_ = sql_errno;
}

void FakeServer::ScriptCommand(const std::string& prefix, CommandScript script) {
  std::lock_guard<std::mutex> lock(mutex_);
  scripts_.emplace_back(prefix, std::move(script));
}

void FakeServer::KeepStarted(const std::string& tag, const std::string& command, CommandScript script) {
  auto stream = std::make_shared<Stream>();
  stream->seen.command = command;
  stream->drop_after = script.drop_after;
  stream->script = std::move(script);
  std::lock_guard<std::mutex> lock(mutex_);
  standby_[tag] = std::move(stream);
}

void FakeServer::KeepStandbyShell(CommandScript script) {
  script.standby_shell = true;
  KeepStarted(kStandbyShellTag, StandbyShellCommand(), std::move(script));
}

ExecResult FakeServer::ScriptedRun(const std::string& command) const {
  for (auto it = commands_.rbegin(); it != commands_.rend(); ++it) {
    if (command.rfind(it->first, 0) == 0) return it->second;
  }
  return ExecResult{};
}

std::vector<FakeServer::StartedCommand> FakeServer::started() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<StartedCommand> out;
  for (const auto& stream : streams_) out.push_back(stream->seen);
  return out;
}

void FakeServer::AllowShellReconnect() {
  std::lock_guard<std::mutex> lock(mutex_);
  shell_down_ = false;
}

std::vector<std::string> FakeServer::log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

std::vector<std::string> FakeServer::statements() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const std::string& line : log_) {
    if (StartsWith(line, "sql: ")) out.push_back(line.substr(5));
  }
  return out;
}

void FakeServer::ClearLog() {
  std::lock_guard<std::mutex> lock(mutex_);
  log_.clear();
}

int FakeServer::statements_received() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return received_;
}

int FakeServer::sql_connects() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connects_;
}

FakeServer::SqlOutcome FakeServer::Receive(const std::string& sql, const std::string& logged,
                                           const std::string& endpoint, std::chrono::milliseconds read_timeout) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++received_;
  log_.push_back("sql: " + logged);
  SqlOutcome outcome;
  if (drop_after_) {
    if (*drop_after_ == 0) {
      drop_after_.reset();
      sql_down_ = true;
      outcome.rows = QueryError(kErrServerLost, endpoint);
      outcome.drop = true;
      return outcome;
    }
    --*drop_after_;
  }
  for (auto it = sql_faults_.begin(); it != sql_faults_.end(); ++it) {
    bool hit = it->kind == SqlFault::Kind::kFailNth ? it->n == received_ : StartsWith(sql, it->prefix);
    if (!hit) continue;
    SqlFault fault = *it;
    sql_faults_.erase(it);
    if (fault.kind == SqlFault::Kind::kFreeze) {
      if (fault.duration > read_timeout) {
        // Connector/C gives up after its read timeout; the statement never ran here.
        outcome.freeze = read_timeout;
        outcome.rows = QueryError(kErrServerLost, endpoint);
        outcome.drop = true;
        return outcome;
      }
      outcome.freeze = fault.duration;  // answered, late
      break;
    }
    outcome.rows = QueryError(fault.sql_errno, endpoint);
    outcome.drop = Unavailable(fault.sql_errno);
    return outcome;
  }
  // STOP SLAVE behind an IO thread blocked on a silent source (io_stop_wait): late, as a Freeze.
  bool io_alive = replica && replica->count("Slave_IO_Running") != 0 && replica->at("Slave_IO_Running") != "No";
  if (outcome.freeze.count() == 0 && io_stop_wait.count() > 0 && io_alive && StartsWith(sql, "STOP SLAVE") &&
      sql.find("SQL_THREAD") == std::string::npos) {
    if (io_stop_wait > read_timeout) {
      outcome.freeze = read_timeout;
      outcome.rows = QueryError(kErrServerLost, endpoint);
      outcome.drop = true;
      return outcome;
    }
    outcome.freeze = io_stop_wait;
  }
  outcome.rows = Model(sql, endpoint);
  return outcome;
}

Result<std::vector<Row>> FakeServer::Model(const std::string& sql, const std::string& endpoint) {
  for (auto it = answers_.rbegin(); it != answers_.rend(); ++it) {
    if (it->prefix ? StartsWith(sql, it->text) : sql == it->text) return it->rows;
  }
  auto unknown = [&](const std::string& name) {
    return QueryError(kErrUnknownSystemVariable, endpoint, "Unknown system variable '" + name + "'");
  };
  if (StartsWith(sql, "SELECT @@GLOBAL.")) {
    Row row;
    for (const std::string& item : SelectList(sql)) {
      size_t as = item.find(" AS ");
      if (!StartsWith(item, "@@GLOBAL.") || as == std::string::npos) {
        return Status::Internal("fake: cannot read `" + sql + "` (only SELECT @@GLOBAL.x AS a, ...)");
      }
      std::string name = Lower(item.substr(9, as - 9));
      auto value = globals.find(name);
      if (value == globals.end()) return unknown(name);
      row[item.substr(as + 4)] = value->second;
    }
    return std::vector<Row>{row};
  }
  if (StartsWith(sql, "SET GLOBAL ")) {
    size_t eq = sql.find(" = ");
    if (eq == std::string::npos) return Status::Internal("fake: cannot read `" + sql + "`");
    std::string name = Lower(sql.substr(11, eq - 11));
    std::string value = sql.substr(eq + 3);
    if (globals.count(name) == 0) return unknown(name);
    if (StartsWith(value, "@@GLOBAL.")) {
      auto from = globals.find(Lower(value.substr(9)));
      if (from == globals.end()) return unknown(value.substr(9));
      value = from->second;
    } else if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);
    } else if (Upper(value) == "ON") {
      value = "1";
    } else if (Upper(value) == "OFF") {
      value = "0";
    }
    globals[name] = value;
    return std::vector<Row>{};
  }
  if (sql == "SHOW SLAVE STATUS") return replica ? std::vector<Row>{*replica} : std::vector<Row>{};
  if (sql == "SHOW ALL SLAVES STATUS") {
    if (!replica) return std::vector<Row>{};
    Row row = *replica;
    row["Connection_name"] = "";
    return std::vector<Row>{row};
  }
  // The IO thread as information_schema.PROCESSLIST shows it, and its KILL.
  const std::string io_id = std::to_string(kIoThreadId);
  bool io_alive = replica && replica->count("Slave_IO_Running") != 0 && replica->at("Slave_IO_Running") != "No";
  if (sql == "SELECT ID, STATE FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'") {
    if (!io_alive) return std::vector<Row>{};
    auto state = replica->find("Slave_IO_State");
    return std::vector<Row>{Row{{"ID", io_id}, {"STATE", state == replica->end() ? "" : state->second}}};
  }
  if (StartsWith(sql, "KILL CONNECTION ")) {
    if (!io_alive || sql != "KILL CONNECTION " + io_id) {
      return QueryError(kErrNoSuchThread, endpoint, "Unknown thread id: " + sql.substr(16));
    }
    (*replica)["Slave_IO_Running"] = "No";
    (*replica)["Slave_IO_State"] = "";
    return std::vector<Row>{};
  }
  for (const char* verb : {"STOP SLAVE", "START SLAVE"}) {
    if (!StartsWith(sql, verb)) continue;
    bool start = verb[2] == 'A';
    if (!replica) {
      if (start) return QueryError(kErrMasterInfo, endpoint);
      return std::vector<Row>{};
    }
    bool io = sql.find("SQL_THREAD") == std::string::npos;
    bool sql_thread = sql.find("IO_THREAD") == std::string::npos;
    if (io) (*replica)["Slave_IO_Running"] = start ? "Yes" : "No";
    if (sql_thread) (*replica)["Slave_SQL_Running"] = start ? "Yes" : "No";
    return std::vector<Row>{};
  }
  if (sql == "RESET SLAVE ALL") {
    replica.reset();
    return std::vector<Row>{};
  }
  if (StartsWith(sql, "CHANGE MASTER TO ")) {
    if (!replica) {
      replica = ReplicaRow("", 0, "");
      (*replica)["Slave_IO_Running"] = "No";
      (*replica)["Slave_SQL_Running"] = "No";
    }
    for (auto [option, column] : {std::pair{"MASTER_HOST", "Master_Host"}, std::pair{"MASTER_PORT", "Master_Port"},
                                  std::pair{"MASTER_USER", "Master_User"}}) {
      std::string value = ChangeOption(sql, option);
      if (!value.empty()) (*replica)[column] = value;
    }
    std::string gtid = Lower(ChangeOption(sql, "MASTER_USE_GTID"));
    if (gtid == "slave_pos") (*replica)["Using_Gtid"] = "Slave_Pos";
    if (gtid == "current_pos") (*replica)["Using_Gtid"] = "Current_Pos";
    if (gtid == "no") (*replica)["Using_Gtid"] = "No";
    return std::vector<Row>{};
  }
  if (StartsWith(Upper(sql), "SELECT") || StartsWith(Upper(sql), "SHOW")) {
    return Status::Internal("fake: no answer scripted for `" + sql + "`");
  }
  return std::vector<Row>{};
}

std::optional<FakeServer::ShellFault> FakeServer::TakeShellFault(const std::string& line) {
  for (auto it = shell_faults_.begin(); it != shell_faults_.end(); ++it) {
    if (!StartsWith(line, it->prefix)) continue;
    ShellFault fault = *it;
    shell_faults_.erase(it);
    if (fault.kind == ShellFault::Kind::kDrop) shell_down_ = true;
    return fault;
  }
  return std::nullopt;
}

// --- a started command -----------------------------------------------------------------------------

class FakeCommand : public RemoteCommand {
 public:
  // `session_open`: its session's SSH connection, closed when the stream drops (the session outlives it).
  FakeCommand(FakeServer& server, std::shared_ptr<FakeServer::Stream> stream, std::string endpoint, bool& session_open)
      : server_(server), stream_(std::move(stream)), endpoint_(std::move(endpoint)), session_open_(session_open) {}
  ~FakeCommand() override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    if (!stream_->seen.finished) stream_->seen.abandoned = true;
  }

  Result<size_t> ReadStdout(char* buffer, size_t size) override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    if (stream_->dropped) return Dropped("reading command output");
    const FakeServer::CommandScript& script = stream_->script;
    if (script.silent) return size_t{0};
    size_t end = script.out.size();
    if (stream_->drop_after) end = std::min(end, *stream_->drop_after);
    if (stream_->sent >= end && stream_->drop_after && *stream_->drop_after < script.out.size()) {
      stream_->dropped = true;
      server_.shell_down_ = true;
      session_open_ = false;
      return Dropped("reading command output");
    }
    const size_t n = std::min(size, end - stream_->sent);
    std::copy_n(script.out.data() + stream_->sent, n, buffer);
    stream_->sent += n;
    return n;
  }

  Result<size_t> WriteStdin(const char* data, size_t size) override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    if (stream_->dropped) return Dropped("writing command input");
    stream_->seen.input.append(data, size);
    return size;
  }

  Status DrainOutput() override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    return stream_->dropped ? Dropped("reading command output") : Status::OK();
  }

  bool stdout_eof() const override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    const FakeServer::CommandScript& script = stream_->script;
    if (script.silent || stream_->sent < script.out.size()) return false;
    return !script.until_stdin_eof || stream_->seen.stdin_closed;
  }

  bool remote_closed() const override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    const FakeServer::CommandScript& script = stream_->script;
    if (script.silent) return false;
    return script.until_stdin_eof ? stream_->seen.stdin_closed : stream_->sent >= script.out.size();
  }

  int socket() const override { return -1; }
  short poll_events() const override { return POLLIN; }

  Result<StreamExit> Finish(int idle_timeout_ms) override {
    bool silent = false;
    {
      std::lock_guard<std::mutex> lock(server_.mutex_);
      if (stream_->dropped) return Dropped("finishing the command");
      stream_->seen.stdin_closed = true;
      silent = stream_->script.silent;
    }
    if (silent) {
      std::this_thread::sleep_for(std::chrono::milliseconds(idle_timeout_ms));
      return Status::Unavailable("ssh " + endpoint_ + ": no output for " + std::to_string(idle_timeout_ms) + " ms");
    }
    std::lock_guard<std::mutex> lock(server_.mutex_);
    stream_->sent = stream_->script.out.size();
    stream_->seen.finished = true;
    for (const auto& [name, value] : stream_->script.sets_globals) server_.globals[name] = value;
    return StreamExit{stream_->script.exit_status, stream_->script.err};
  }

  Result<ExecResult> Converse(std::string_view input, int timeout_ms) override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    if (stream_->dropped) return Dropped("writing command input");
    stream_->seen.input.append(input.data(), input.size());
    stream_->seen.stdin_closed = true;
    const FakeServer::CommandScript& script = stream_->script;
    if (script.silent) {
      session_open_ = false;  // abandoned: its session's SSH connection is closed with it
      return Status::Unavailable("ssh " + endpoint_ + ": command timed out after " + std::to_string(timeout_ms) +
                                 " ms");
    }
    ExecResult result{script.exit_status, script.out, script.err};
    if (script.standby_shell) {
      // bash's `read -r -d ''` twice (providers/standby_shell.cc); no command read: `exit 0`.
      const size_t nonce_end = input.find('\0');
      const size_t command_end = nonce_end == std::string_view::npos ? nonce_end : input.find('\0', nonce_end + 1);
      if (command_end != std::string_view::npos) {
        const std::string nonce(input.substr(0, nonce_end));
        const std::string printed = script.wrong_nonce ? "replplan-ran-" + std::string(32, '0') : nonce;
        result.out += printed;
        result.err += printed;
        if (!script.wrong_nonce) {
          const std::string command(input.substr(nonce_end + 1, command_end - nonce_end - 1));
          server_.log_.push_back("run: " + command);
          const ExecResult ran = server_.ScriptedRun(command);
          result.out += ran.out;
          result.err += ran.err;
          result.exit_status = ran.exit_status;
        }
      }
    }
    if (stream_->drop_after && *stream_->drop_after < result.out.size()) {
      stream_->sent = *stream_->drop_after;
      stream_->dropped = true;
      server_.shell_down_ = true;
      session_open_ = false;
      return Dropped("reading command output");
    }
    stream_->sent = script.out.size();
    stream_->seen.finished = true;
    for (const auto& [name, value] : script.sets_globals) server_.globals[name] = value;
    return result;
  }

  Status KeepAlive(int) override {
    std::lock_guard<std::mutex> lock(server_.mutex_);
    return stream_->dropped || server_.shell_down_ ? Dropped("keepalive") : Status::OK();
  }

  std::string Endpoint() const override { return endpoint_; }

 private:
  Status Dropped(const std::string& doing) const {
    return Status::Unavailable("ssh " + endpoint_ + ": " + doing + " failed: connection reset by peer");
  }

  FakeServer& server_;
  std::shared_ptr<FakeServer::Stream> stream_;
  const std::string endpoint_;
  bool& session_open_;
};

// --- the session ----------------------------------------------------------------------------------

class FakeServerSession : public ServerSession {
 public:
  FakeServerSession(const ServerSpec& spec, const SessionLimits& limits, FakeServer* server,
                    const FakeSessionFactory* factory)
      : spec_(spec), limits_(limits), server_(server), factory_(factory) {}

  const std::string& name() const override { return spec_.name; }
  std::string Endpoint() const override { return spec_.address; }

  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<const Secret*>& also_redact,
                                 const std::string& what) override {
    Status connected = ConnectSql(0);
    if (!connected.ok()) return connected;
    const std::string logged = RedactSecrets(sql, also_redact);
    const std::string endpoint = SqlEndpoint();
    const std::string context =
        limits_.name_errors ? spec_.name + ": " + (what.empty() ? logged : what) : what;
    const auto read_timeout = ReadTimeout();
    // The sleep is outside the server's lock: other sessions (other threads) go on meanwhile.
    FakeServer::SqlOutcome outcome = server_->Receive(sql, logged, endpoint, read_timeout);
    if (outcome.freeze.count() > 0) std::this_thread::sleep_for(outcome.freeze);
    if (outcome.drop) sql_open_ = false;
    if (!outcome.rows.ok()) {
      return context.empty() ? outcome.rows.status() : outcome.rows.status().WithContext(context);
    }
    return outcome.rows;
  }

  Status ConnectSql(int connect_timeout_ms) override {
    (void)connect_timeout_ms;
    if (sql_open_) return Status::OK();
    auto named = [this](const Status& status) {
      return limits_.name_errors ? status.WithContext(spec_.name + " does not answer SQL") : status;
    };
    if (factory_->refused(spec_.name)) {
      return named(MysqlError(kErrConnRefused, "cannot connect to " + SqlEndpoint() +
                                                   ": Can't connect to server on '" + spec_.address + "' (111)"));
    }
    std::lock_guard<std::mutex> lock(server_->mutex_);
    if (server_->sql_down_) {
      return named(MysqlError(kErrServerLost, "cannot connect to " + SqlEndpoint() +
                                                  ": Lost connection to server at 'handshake: reading initial "
                                                  "communication packet', system error: 104"));
    }
    if (server_->connect_errno_) {
      return named(MysqlError(*server_->connect_errno_,
                              "cannot connect to " + SqlEndpoint() + ": " + FakeMysqlErrorText(*server_->connect_errno_)));
    }
    ++server_->connects_;
    sql_open_ = true;
    return Status::OK();
  }

  void DropSql() override {
    sql_open_ = false;
    pending_.reset();
  }
  bool sql_connected() const override { return sql_open_; }

  // The statement is received (logged, counted, its fault found) when sent; its answer is ready
  // once its freeze has passed.
  Status SendQuery(const std::string& sql) override {
    Status connected = ConnectSql(0);
    if (!connected.ok()) return connected;
    Pending pending;
    pending.sql = sql;
    pending.outcome = server_->Receive(sql, sql, SqlEndpoint(), std::chrono::milliseconds::max());
    pending.ready = std::chrono::steady_clock::now() + pending.outcome.freeze;
    pending_ = std::move(pending);
    return Status::OK();
  }

  bool AnswerWaiting(int timeout_ms) override {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (!sql_open_) return true;
      if (pending_ && std::chrono::steady_clock::now() >= pending_->ready) return true;
      if (!pending_) {
        std::lock_guard<std::mutex> lock(server_->mutex_);
        if (server_->sql_down_) return true;  // the server dropped its connections
      }
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  Result<std::vector<Row>> ReadAnswer() override {
    if (!sql_open_ || !pending_) {
      return Status::FailedPrecondition(spec_.name + ": no statement sent to read the answer of");
    }
    Pending pending = std::move(*pending_);
    pending_.reset();
    const auto left = pending.ready - std::chrono::steady_clock::now();
    if (left > ReadTimeout()) {
      // Connector/C gives up after its read timeout; the statement never ran here.
      std::this_thread::sleep_for(ReadTimeout());
      sql_open_ = false;
      return QueryError(kErrServerLost, SqlEndpoint()).WithContext(spec_.name + ": " + pending.sql);
    }
    if (left.count() > 0) std::this_thread::sleep_for(left);
    if (pending.outcome.drop) sql_open_ = false;
    if (!pending.outcome.rows.ok()) return pending.outcome.rows.status().WithContext(spec_.name + ": " + pending.sql);
    return pending.outcome.rows;
  }

  Status ConnectSsh() override {
    if (ssh_open_) return Status::OK();
    bool down = factory_->refused(spec_.name);
    {
      std::lock_guard<std::mutex> lock(server_->mutex_);
      down = down || server_->shell_down_;
    }
    if (down) {
      Status refused = Status::Unavailable(SshEndpoint() + ": cannot connect: Connection refused");
      return limits_.name_errors ? refused.WithContext(spec_.name + ": cannot open SSH session") : refused;
    }
    ssh_open_ = true;
    return Status::OK();
  }

  Result<ExecResult> Run(const std::string& command, std::string_view input) override {
    (void)input;
    Status step = ShellStep("run: " + command);
    if (!step.ok()) return step;
    std::lock_guard<std::mutex> lock(server_->mutex_);
    return server_->ScriptedRun(command);
  }

  Result<std::vector<FileRead>> ReadFiles(const std::vector<std::string>& paths) override {
    for (const std::string& path : paths) {
      Status step = ShellStep("read: " + path);
      if (!step.ok()) return step;
    }
    std::lock_guard<std::mutex> lock(server_->mutex_);
    std::vector<FileRead> out;
    for (const std::string& path : paths) {
      FileRead read;
      read.read_ok = true;
      auto it = server_->files.find(path);
      if (it != server_->files.end()) {
        read.exists = true;
        read.text = it->second;
      }
      out.push_back(std::move(read));
    }
    return out;
  }

  Result<std::vector<DirRead>> ListDirectories(const std::vector<std::string>& dirs) override {
    for (const std::string& dir : dirs) {
      Status step = ShellStep("list: " + dir);
      if (!step.ok()) return step;
    }
    std::lock_guard<std::mutex> lock(server_->mutex_);
    std::vector<DirRead> out;
    for (const std::string& dir : dirs) {
      DirRead read;
      read.read_ok = true;
      const std::string below = dir.empty() || dir.back() != '/' ? dir + "/" : dir;
      for (const auto& [path, content] : server_->files) {
        if (!StartsWith(path, below) || path.size() == below.size()) continue;
        read.exists = true;
        std::string name = path.substr(below.size(), path.find('/', below.size()) - below.size());
        if (std::find(read.names.begin(), read.names.end(), name) == read.names.end()) read.names.push_back(name);
      }
      out.push_back(std::move(read));
    }
    return out;
  }

  Result<std::unique_ptr<RemoteCommand>> StartCommand(const std::string& command) override {
    Status step = ShellStep("start: " + command);
    if (!step.ok()) return step;
    auto stream = std::make_shared<FakeServer::Stream>();
    stream->seen.command = command;
    stream->drop_after = std::exchange(stream_drop_after_, std::nullopt);
    std::lock_guard<std::mutex> lock(server_->mutex_);
    for (auto it = server_->scripts_.rbegin(); it != server_->scripts_.rend(); ++it) {
      if (StartsWith(command, it->first)) {
        stream->script = it->second;
        break;
      }
    }
    server_->streams_.push_back(stream);
    return std::unique_ptr<RemoteCommand>(
        std::make_unique<FakeCommand>(*server_, stream, SshEndpoint().substr(4), ssh_open_));
  }

  std::unique_ptr<RemoteCommand> TakeStartedCommand(const std::string& tag) override {
    if (ssh_open_) return nullptr;
    std::lock_guard<std::mutex> lock(server_->mutex_);
    auto it = server_->standby_.find(tag);
    if (it == server_->standby_.end()) return nullptr;
    server_->log_.push_back("take: " + tag);
    std::shared_ptr<FakeServer::Stream> stream = std::move(it->second);
    server_->standby_.erase(it);
    server_->streams_.push_back(stream);
    ssh_open_ = true;
    return std::make_unique<FakeCommand>(*server_, stream, SshEndpoint().substr(4), ssh_open_);
  }

  Status AtomicWrite(const std::string& path, std::string_view content, const AtomicWriteOptions& options) override {
    Status step = ShellStep("write: " + path);
    if (!step.ok()) return step;
    std::lock_guard<std::mutex> lock(server_->mutex_);
    auto old = server_->files.find(path);
    if (options.backup && old != server_->files.end()) server_->files[path + ".replplan.bak"] = old->second;
    server_->files[path] = std::string(content);
    return Status::OK();
  }

 private:
  struct Pending {
    std::string sql;
    FakeServer::SqlOutcome outcome;
    std::chrono::steady_clock::time_point ready;
  };

  std::chrono::milliseconds ReadTimeout() const {
    return std::chrono::milliseconds(limits_.sql_read_timeout_ms > 0 ? limits_.sql_read_timeout_ms
                                                                     : server_->default_read_timeout_ms);
  }
  std::string SqlEndpoint() const { return spec_.address + ":" + std::to_string(spec_.mysql.port); }
  std::string SshEndpoint() const {
    return "ssh " + spec_.ssh.user + "@" + spec_.address + ":" + std::to_string(spec_.ssh.port);
  }

  // Connects the shell when needed, logs `line` and plays its fault; OK: go on with the operation.
  Status ShellStep(const std::string& line) {
    Status connected = ConnectSsh();
    if (!connected.ok()) return connected;
    std::optional<FakeServer::ShellFault> fault;
    {
      std::lock_guard<std::mutex> lock(server_->mutex_);
      server_->log_.push_back(line);
      fault = server_->TakeShellFault(line);
    }
    if (!fault) return Status::OK();
    switch (fault->kind) {
      case FakeServer::ShellFault::Kind::kFail:
        if (fault->status.code() == Status::Code::kUnavailable) ssh_open_ = false;
        return fault->status;
      case FakeServer::ShellFault::Kind::kFreeze: {
        // 0: the server's own bound, as the real session's.
        const int timeout_ms = limits_.command_timeout_ms > 0 ? limits_.command_timeout_ms : spec_.ssh.command_timeout_ms;
        const auto timeout = std::chrono::milliseconds(timeout_ms);
        if (fault->duration > timeout) {
          std::this_thread::sleep_for(timeout);
          ssh_open_ = false;
          return Status::Unavailable(SshEndpoint() + ": command timed out after " + std::to_string(timeout_ms) + " ms");
        }
        std::this_thread::sleep_for(fault->duration);
        return Status::OK();
      }
      case FakeServer::ShellFault::Kind::kDrop:
        ssh_open_ = false;
        return Status::Unavailable(SshEndpoint() + ": reading command output failed: connection reset by peer");
      case FakeServer::ShellFault::Kind::kDropStreamAfter:
        stream_drop_after_ = fault->bytes;  // the command starts; its stream drops later
        return Status::OK();
    }
    return Status::OK();
  }

  const ServerSpec spec_;
  const SessionLimits limits_;
  FakeServer* server_;
  const FakeSessionFactory* factory_;
  bool sql_open_ = false;
  bool ssh_open_ = false;
  std::optional<Pending> pending_;  // sent with SendQuery, not read yet
  std::optional<size_t> stream_drop_after_;  // DropStreamAfter's, for the command starting now
};

// --- the factory ------------------------------------------------------------------------------------

FakeServer& FakeSessionFactory::server(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = servers_[name];
  if (!slot) slot = std::make_unique<FakeServer>();
  return *slot;
}

void FakeSessionFactory::Refuse(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  refused_.insert(name);
}

void FakeSessionFactory::Accept(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  refused_.erase(name);
}

bool FakeSessionFactory::refused(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refused_.count(name) != 0;
}

std::unique_ptr<ServerSession> FakeSessionFactory::Open(const ServerSpec& spec, const SessionLimits& limits) {
  FakeServer* fake = &server(spec.name);
  std::lock_guard<std::mutex> lock(mutex_);
  ++opened_;
  return std::make_unique<FakeServerSession>(spec, limits, fake, this);
}

int FakeSessionFactory::sessions_opened() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return opened_;
}

}  // namespace replplan
