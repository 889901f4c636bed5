#include "providers/server_session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
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

namespace {

// Waits until either socket can make progress or `timeout_ms` passes. false only on a poll error.
bool PollStreams(const RemoteCommand& from, bool want_from, const RemoteCommand& to, int timeout_ms) {
  std::array<pollfd, 2> fds{};
  nfds_t count = 0;
  if (want_from) fds[count++] = pollfd{from.socket(), from.poll_events(), 0};
  fds[count++] = pollfd{to.socket(), to.poll_events(), 0};
  int one = 1;  // see WaitSocket: sshd's last small packets wait for our ACK otherwise
  for (nfds_t i = 0; i < count; ++i) {
    if (fds[i].fd >= 0) setsockopt(fds[i].fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
  }
  int rc;
  do {
    rc = poll(fds.data(), count, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  return rc >= 0;
}

}  // namespace

Result<PumpResult> PumpStdoutToStdin(RemoteCommand& from, RemoteCommand& to, const PumpOptions& options) {
  // One fixed buffer, bytes [begin, end) pending: reading stops while it is full, so a slow
  // reader slows the writer down (SSH windows push back all the way to the remote command).
  std::vector<char> buffer(options.buffer_bytes > 0 ? options.buffer_bytes : 256 * 1024);
  size_t begin = 0, end = 0;
  PumpResult result;
  const auto started = std::chrono::steady_clock::now();
  auto last_moved = started;
  auto next_progress = started + std::chrono::milliseconds(options.progress_interval_ms);
  auto seconds_since_start = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  for (;;) {
    bool moved = false;
    if (!from.stdout_eof() && end < buffer.size()) {
      auto n = from.ReadStdout(buffer.data() + end, buffer.size() - end);
      if (!n.ok()) return n.status();
      end += *n;
      moved = moved || *n > 0;
    }
    if (end > begin && !to.remote_closed()) {
      auto n = to.WriteStdin(buffer.data() + begin, end - begin);
      if (!n.ok()) return n.status();
      begin += *n;
      result.bytes += *n;
      moved = moved || *n > 0;
      if (begin == end) begin = end = 0;
    }
    Status drained = to.DrainOutput();  // the receiver's own output, and whether it has exited
    if (!drained.ok()) return drained;
    if (to.remote_closed()) return result;  // it quit before taking everything: it failed
    if (from.stdout_eof() && begin == end) {
      result.complete = true;
      if (options.progress) options.progress(result.bytes, seconds_since_start());
      return result;
    }
    if (end == buffer.size() && begin > 0) {
      std::memmove(buffer.data(), buffer.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }

    auto now = std::chrono::steady_clock::now();
    if (options.progress && now >= next_progress) {
      options.progress(result.bytes, seconds_since_start());
      next_progress = now + std::chrono::milliseconds(options.progress_interval_ms);
    }
    if (moved) {
      last_moved = now;
      continue;
    }
    auto idle_left = last_moved + std::chrono::milliseconds(options.idle_timeout_ms) - now;
    if (idle_left <= std::chrono::steady_clock::duration::zero()) {
      return Status::Unavailable("no data moved from " + from.Endpoint() + " to " + to.Endpoint() + " for " +
                                 std::to_string(options.idle_timeout_ms / 1000) + " s");
    }
    auto wait = std::min(idle_left, options.progress ? next_progress - now : idle_left);
    int wait_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) + 1;
    bool want_from = !from.stdout_eof() && end < buffer.size();
    if (!PollStreams(from, want_from, to, wait_ms)) {
      return Status::Internal(std::string("poll failed while streaming: ") + std::strerror(errno));
    }
  }
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
      return Named(rows.status(), what.empty() ? RedactSecrets(sql, also_redact) : what, what);
    }
    return rows;
  }

  Status ConnectSql(int connect_timeout_ms) override {
    if (sql_) return Status::OK();
    auto options = MysqlOptionsFor(server_);
    if (!options.ok()) return limits_.name_errors ? options.status().WithContext(server_.name) : options.status();
    if (connect_timeout_ms > 0) {
      options->connect_timeout_ms = connect_timeout_ms;
    } else if (limits_.sql_connect_timeout_ms > 0) {
      options->connect_timeout_ms = limits_.sql_connect_timeout_ms;
    }
    if (limits_.sql_read_timeout_ms > 0) options->read_timeout_ms = limits_.sql_read_timeout_ms;
    if (limits_.sql_write_timeout_ms > 0) options->write_timeout_ms = limits_.sql_write_timeout_ms;
    auto connection = BorrowSql(pool_, *options);
    if (!connection.ok()) {
      return limits_.name_errors ? connection.status().WithContext(server_.name + " does not answer SQL")
                                 : connection.status();
    }
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
      return Named(sent, sql, {});
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
      return Named(rows.status(), sql, {});
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

  Result<std::vector<DirRead>> ListDirectories(const std::vector<std::string>& dirs) override {
    auto ssh = Ssh();
    if (!ssh.ok()) return ssh.status();
    auto listed = ::replplan::ListDirectories(**ssh, dirs);
    if (!listed.ok()) DropSshOn(listed.status());
    return listed;
  }

  Result<std::unique_ptr<RemoteCommand>> StartCommand(const std::string& command) override {
    auto ssh = Ssh();
    if (!ssh.ok()) return ssh.status();
    auto stream = (*ssh)->Start(command);
    if (!stream.ok()) {
      DropSshOn(stream.status());
      return stream.status();
    }
    return std::unique_ptr<RemoteCommand>(std::make_unique<LiveCommand>(*this, std::move(*stream)));
  }

  std::unique_ptr<RemoteCommand> TakeStartedCommand(const std::string& tag) override {
    if (pool_ == nullptr || ssh_) return nullptr;
    const SshOptions options = Options();
    SessionPool::Started started = pool_->TakeStarted(options, tag);
    if (!started.session || !started.stream) return nullptr;
    started.session->set_command_timeout_ms(options.command_timeout_ms);
    ssh_ = std::move(started.session);
    return std::make_unique<LiveCommand>(*this, std::move(started.stream));
  }

 private:
  // A started command: the SshStream on this session's SSH connection. One abandoned (destroyed
  // before a clean Finish) leaves the connection unfit to serve again: it is closed, not pooled.
  class LiveCommand : public RemoteCommand {
   public:
    LiveCommand(LiveServerSession& owner, std::unique_ptr<SshStream> stream)
        : owner_(owner), stream_(std::move(stream)) {}
    ~LiveCommand() override {
      stream_.reset();
      if (!finished_) owner_.ssh_.reset();
    }
    Result<size_t> ReadStdout(char* buffer, size_t size) override { return stream_->ReadStdout(buffer, size); }
    Result<size_t> WriteStdin(const char* data, size_t size) override { return stream_->WriteStdin(data, size); }
    Status DrainOutput() override { return stream_->DrainOutput(); }
    bool stdout_eof() const override { return stream_->stdout_eof(); }
    bool remote_closed() const override { return stream_->remote_closed(); }
    int socket() const override { return stream_->socket(); }
    short poll_events() const override { return stream_->poll_events(); }
    Result<StreamExit> Finish(int idle_timeout_ms) override {
      auto exit = stream_->Finish(idle_timeout_ms);
      finished_ = exit.ok();
      return exit;
    }
    Result<ExecResult> Converse(std::string_view input, int timeout_ms) override {
      auto result = stream_->Converse(input, timeout_ms);
      finished_ = result.ok();
      return result;
    }
    Status KeepAlive(int interval_s) override {
      if (!keepalive_on_) {
        owner_.ssh_->EnableKeepalive(interval_s);
        keepalive_on_ = true;
      }
      return owner_.ssh_->SendKeepalive();
    }
    std::string Endpoint() const override { return stream_->Endpoint(); }

   private:
    LiveServerSession& owner_;
    std::unique_ptr<SshStream> stream_;
    bool finished_ = false;
    bool keepalive_on_ = false;
  };

  // `status` worded for this session: "<server>: <what>" (name_errors), else `bare_what` alone
  // when given ("reading variables: ...") or the transport's words.
  Status Named(const Status& status, const std::string& what, const std::string& bare_what) const {
    if (limits_.name_errors) return status.WithContext(server_.name + ": " + what);
    return bare_what.empty() ? status : status.WithContext(bare_what);
  }

  SshOptions Options() const {
    SshOptions options = SshOptionsFor(server_);
    if (limits_.command_timeout_ms > 0) options.command_timeout_ms = limits_.command_timeout_ms;
    if (limits_.ssh_connect_timeout_ms > 0) options.connect_timeout_ms = limits_.ssh_connect_timeout_ms;
    return options;
  }

  Result<SshSession*> Ssh() {
    if (ssh_) return ssh_.get();
    auto session = BorrowSsh(pool_, Options());
    if (!session.ok()) {
      return limits_.name_errors ? session.status().WithContext(server_.name + ": cannot open SSH session")
                                 : session.status();
    }
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
