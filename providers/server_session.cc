#include "providers/server_session.h"

#include <utility>

#include "providers/connect_options.h"
#include "providers/mysql/mysql_connection.h"
#include "providers/session_pool.h"

namespace replplan {

// --- typed verbs: one SQL text each, whatever the transport -------------------------------------

namespace {

const char* ThreadsClause(ReplicaThreads threads) {
  switch (threads) {
    case ReplicaThreads::kBoth: return "";
    case ReplicaThreads::kIo: return " IO_THREAD";
    case ReplicaThreads::kSql: return " SQL_THREAD";
  }
  return "";
}

}  // namespace

Status ServerSession::Execute(const std::string& sql, const std::vector<const Secret*>& also_redact,
                              const std::string& what) {
  auto rows = Query(sql, also_redact, what);
  return rows.ok() ? Status::OK() : rows.status();
}

Result<std::optional<ReplicaChannel>> ServerSession::ReplicaStatus() {
  auto rows = Query("SHOW SLAVE STATUS");
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<ReplicaChannel>();
  return std::optional<ReplicaChannel>(ParseReplicaChannel(rows->front()));
}

Result<std::vector<ReplicaChannel>> ServerSession::AllReplicaChannels() {
  auto rows = Query("SHOW ALL SLAVES STATUS");
  if (!rows.ok()) return rows.status();
  std::vector<ReplicaChannel> channels;
  for (const Row& row : *rows) channels.push_back(ParseReplicaChannel(row));
  return channels;
}

Status ServerSession::StopReplica(ReplicaThreads threads) {
  return Execute(std::string("STOP SLAVE") + ThreadsClause(threads));
}

Status ServerSession::StartReplica(ReplicaThreads threads) {
  return Execute(std::string("START SLAVE") + ThreadsClause(threads));
}

Status ServerSession::SetGlobal(const std::string& name, const std::string& sql_value) {
  return Execute("SET GLOBAL " + name + " = " + sql_value);
}

Result<std::string> ServerSession::Global(const std::string& name) {
  auto rows = Query("SELECT @@GLOBAL." + name + " AS v", {}, "reading @@" + name);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Status::Internal(this->name() + ": reading @@" + name + " gave no row");
  auto it = rows->front().find("v");
  return it == rows->front().end() ? std::string() : it->second;
}

Result<std::optional<std::string>> ServerSession::ReadFile(const std::string& path) {
  auto files = ReadFiles({path});
  if (!files.ok()) return files.status();
  if (files->size() != 1) return Status::Internal(name() + ": reading " + path + " gave no answer");
  FileRead& file = files->front();
  if (!file.read_ok) return Status::FailedPrecondition(file.error);
  if (!file.exists) return std::optional<std::string>();
  return std::optional<std::string>(std::move(file.text));
}

// --- the live session ----------------------------------------------------------------------------

namespace {

class LiveServerSession : public ServerSession {
 public:
  LiveServerSession(const ServerSpec& server, const SessionLimits& limits, SessionPool* pool)
      : server_(server), limits_(limits), pool_(limits.fresh ? nullptr : pool) {}

  // A connection still held is sound: every transport failure dropped its connection at once.
  ~LiveServerSession() override {
    GiveBack(pool_, std::move(sql_), !pending_.has_value());
    GiveBack(pool_, std::move(ssh_), true);
  }

  const std::string& name() const override { return server_.name; }
  std::string Endpoint() const override { return server_.address; }

  Result<std::vector<Row>> Query(const std::string& sql, const std::vector<const Secret*>& also_redact,
                                 const std::string& what) override {
    Status connected = ConnectSql(0);
    if (!connected.ok()) return connected;
    auto rows = sql_->Query(sql, also_redact);
    if (!rows.ok()) {
      // A connection the server dropped (restart, kill, timeout) is useless: the next use reconnects.
      if (rows.status().code() == Status::Code::kUnavailable) sql_.reset();
      // The statement names the failure only when the caller gave no words for it, redacted all the same.
      return rows.status().WithContext(server_.name + ": " +
                                       (what.empty() ? RedactSecrets(sql, also_redact) : what));
    }
    return rows;
  }

  Status ConnectSql(int connect_timeout_ms) override {
    if (sql_) return Status::OK();
    auto options = MysqlOptionsFor(server_);
    if (!options.ok()) return options.status().WithContext(server_.name);
    if (connect_timeout_ms > 0) {
      options->connect_timeout_ms = connect_timeout_ms;
    } else if (limits_.sql_connect_timeout_ms > 0) {
      options->connect_timeout_ms = limits_.sql_connect_timeout_ms;
    }
    if (limits_.sql_read_timeout_ms > 0) options->read_timeout_ms = limits_.sql_read_timeout_ms;
    if (limits_.sql_write_timeout_ms > 0) options->write_timeout_ms = limits_.sql_write_timeout_ms;
    auto connection = BorrowSql(pool_, *options);
    if (!connection.ok()) return connection.status().WithContext(server_.name + " does not answer SQL");
    sql_ = std::move(*connection);
    return Status::OK();
  }

  void DropSql() override {
    sql_.reset();
    pending_.reset();
  }
  bool sql_connected() const override { return sql_ != nullptr; }

  Status SendQuery(const std::string& sql) override {
    Status connected = ConnectSql(0);
    if (!connected.ok()) return connected;
    Status sent = sql_->Send(sql);
    if (!sent.ok()) {
      if (sent.code() == Status::Code::kUnavailable) sql_.reset();
      return sent.WithContext(server_.name + ": " + sql);
    }
    pending_ = sql;
    return Status::OK();
  }

  bool AnswerWaiting(int timeout_ms) override { return !sql_ || sql_->AnswerWaiting(timeout_ms); }

  Result<std::vector<Row>> ReadAnswer() override {
    if (!sql_ || !pending_) return Status::FailedPrecondition(server_.name + ": no statement sent to read the answer of");
    const std::string sql = std::move(*pending_);
    pending_.reset();
    auto rows = sql_->ReadAnswer();
    if (!rows.ok()) {
      if (rows.status().code() == Status::Code::kUnavailable) sql_.reset();
      return rows.status().WithContext(server_.name + ": " + sql);
    }
    return rows;
  }

  Status ConnectSsh() override {
    auto ssh = Ssh();
    return ssh.ok() ? Status::OK() : ssh.status();
  }

  Result<ExecResult> Run(const std::string& command, std::string_view input) override {
    auto ssh = Ssh();
    if (!ssh.ok()) return ssh.status();
    auto run = (*ssh)->Run(command, input);
    if (!run.ok()) DropSshOn(run.status());
    return run;
  }

  Result<std::vector<FileRead>> ReadFiles(const std::vector<std::string>& paths) override {
    auto ssh = Ssh();
    if (!ssh.ok()) return ssh.status();
    auto files = ::replplan::ReadFiles(**ssh, paths);
    if (!files.ok()) DropSshOn(files.status());
    return files;
  }

  Status AtomicWrite(const std::string& path, std::string_view content, const AtomicWriteOptions& options) override {
    auto ssh = Ssh();
    if (!ssh.ok()) return ssh.status();
    Status written = ::replplan::AtomicWrite(**ssh, path, content, options);
    DropSshOn(written);
    return written;
  }

 private:
  Result<SshSession*> Ssh() {
    if (ssh_) return ssh_.get();
    SshOptions options = SshOptionsFor(server_);
    if (limits_.command_timeout_ms > 0) options.command_timeout_ms = limits_.command_timeout_ms;
    if (limits_.ssh_connect_timeout_ms > 0) options.connect_timeout_ms = limits_.ssh_connect_timeout_ms;
    auto session = BorrowSsh(pool_, options);
    if (!session.ok()) return session.status().WithContext(server_.name + ": cannot open SSH session");
    ssh_ = std::move(*session);
    return ssh_.get();
  }
  void DropSshOn(const Status& status) {
    if (status.code() == Status::Code::kUnavailable) ssh_.reset();
  }

  const ServerSpec server_;  // a copy: the session may outlive the topology it was opened from
  const SessionLimits limits_;
  SessionPool* pool_;  // may be null
  std::unique_ptr<MysqlConnection> sql_;
  std::optional<std::string> pending_;  // a statement sent (SendQuery) whose answer is not read yet
  std::unique_ptr<SshSession> ssh_;
};

}  // namespace

std::unique_ptr<ServerSession> LiveSessionFactory::Open(const ServerSpec& server, const SessionLimits& limits) {
  return std::make_unique<LiveServerSession>(server, limits, pool_);
}

}  // namespace replplan
