// The seam below the executor: everything replplan does to one server, as verbs over one object.
//
// LiveExecutor and its steps, the seeder, failover_facts, the epoch record, the lost-transaction
// read, the live read of plan/status (live_provider.h), the cluster lock and the watcher (its probe
// and its fence guard) speak to servers only through a ServerSession. The real one
// (LiveServerSession, below) is MariaDB Connector/C and libssh2, with connections borrowed from a
// SessionPool; the fake (providers/testing/fake_server.h) records every statement and command it is
// asked and has fault switches (fail statement N with errno E, freeze for T, drop the connection
// after N, drop a started command's stream after N bytes), so a fault at any step is a unit test,
// not a lab setup. Below the seam only: the SessionPool itself (what the live session borrows; it
// starts watch's standby lock holders and shells). restart-app's run on a standby shell
// (providers/standby_shell.h) is a conversation with a command taken with TakeStartedCommand.
//
// Invariants:
// - One user at a time (neither a MYSQL nor a libssh2 session may be shared between threads).
// - Connections open on first use. A transport failure (Status::Code::kUnavailable) drops the
//   connection it happened on, so the next verb reconnects; other errors keep it.
// - Every SQL error names the server (its topology name) and the statement, or `what` was being
//   done where the caller names it ("uranus: STOP SLAVE: query failed on ...: Lost connection to
//   server during query (2013)"), carries the server's MySQL error number as Status::sql_errno()
//   when there is one, and never a secret (the caller passes the secrets a statement may contain as
//   `also_redact`). A connection that cannot be opened says so ("uranus does not answer SQL: ...",
//   "uranus: cannot open SSH session: ..."). The shell verbs' own failures come as libssh2 and
//   providers/ssh word them (they name the endpoint); the caller adds the file or command's role.
// - The typed verbs are written once, here, over Query: the real session and the fake differ only in
//   the transport, so a fake test runs the same SQL text the lab runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/live_state.h"
#include "engine/secret.h"
#include "engine/status.h"
#include "engine/topology.h"
#include "providers/ssh/atomic_write.h"
#include "providers/ssh/read_files.h"
#include "providers/ssh/ssh_session.h"

namespace replplan {

class SessionPool;

// Bounds of one session's round trips. 0 keeps the default of the connection options
// (providers/connect_options.h).
struct SessionLimits {
  int sql_connect_timeout_ms = 0;
  int sql_read_timeout_ms = 0;
  int sql_write_timeout_ms = 0;
  int ssh_connect_timeout_ms = 0;
  int command_timeout_ms = 30000;  // each Run and each file operation, start to end
  // Connect afresh, never borrowing from nor giving back to a pool: a check that the server
  // answers now (a warm connection would prove nothing about reaching it now).
  bool fresh = false;
  // false: errors are the transport's own words ("cannot connect to 127.0.0.67:3306: ...", "reading
  // variables: query failed on ..."), without the server's name, the statement or "does not answer
  // SQL": for a caller whose report names the server itself (the state read, providers/live_provider.h).
  bool name_errors = true;
};

// A command started on the server (ServerSession::StartCommand) whose stdin and stdout move in
// pieces, without blocking: every call does what it can now and returns, so one thread can drive
// several commands on several sessions (poll socket() for poll_events() to wait). The real one is an
// SshStream (providers/ssh/ssh_session.h) on the session's SSH connection; the fake's is scripted.
// The session must outlive it; one command at a time per session.
class RemoteCommand {
 public:
  // An unfinished command is abandoned: its channel closes under it (its stdin never sees a clean
  // EOF) and the session's SSH connection is not given back to a pool.
  virtual ~RemoteCommand() = default;
  // Up to `size` bytes of stdout; 0 when none is available now (or at EOF: see stdout_eof()).
  virtual Result<size_t> ReadStdout(char* buffer, size_t size) = 0;
  // How many bytes of `data` the command accepted; 0 when it cannot take any now. After a 0, call
  // again with the same bytes first.
  virtual Result<size_t> WriteStdin(const char* data, size_t size) = 0;
  // Drains stderr (and stdout, when nobody reads it), so the command never waits on us.
  virtual Status DrainOutput() = 0;
  virtual bool stdout_eof() const = 0;
  // The command closed its output (it has exited or is about to).
  virtual bool remote_closed() const = 0;
  // The socket to poll(), and for what; -1 when there is none (a wait then just sleeps).
  virtual int socket() const = 0;
  virtual short poll_events() const = 0;
  // Closes stdin (EOF), reads the rest and waits for the exit status; an error only when nothing
  // arrives for `idle_timeout_ms` or the transport fails (see SshStream::Finish).
  virtual Result<StreamExit> Finish(int idle_timeout_ms) = 0;
  // Writes `input` and EOF, reads stdout and stderr to their end and the exit status, as Run does,
  // bounded by `timeout_ms` (a standby shell's one command, providers/standby_shell.h). Uses the
  // command up: nothing else may be called on it after. Errors: the transport and the timeout (the
  // command is abandoned then, its session's SSH connection closed).
  virtual Result<ExecResult> Converse(std::string_view input, int timeout_ms) = 0;
  // Keeps traffic on a connection otherwise silent for long (a held cluster lock): a keepalive
  // every `interval_s` seconds of calls. Errors: the connection is gone.
  virtual Status KeepAlive(int interval_s) = 0;
  // "root@127.0.0.61:2222", for messages.
  virtual std::string Endpoint() const = 0;
};

enum class ReplicaThreads { kBoth, kIo, kSql };

class ServerSession {
 public:
  virtual ~ServerSession() = default;

  // The server's name in the topology ("uranus") and where it is reached, for messages.
  virtual const std::string& name() const = 0;
  virtual std::string Endpoint() const = 0;

  // --- SQL --------------------------------------------------------------------------------------
  // One statement, its rows keyed by column name (SQL NULL is ""). Errors carry sql_errno() and
  // are named "<server>: <what>", `what` being the statement itself when empty (give one when the
  // statement is long or carries a secret: "reading @@read_only", "CHANGE MASTER TO uranus").
  virtual Result<std::vector<Row>> Query(const std::string& sql, const std::vector<const Secret*>& also_redact = {},
                                         const std::string& what = {}) = 0;
  // Opens the SQL connection now when there is none, bounded by `connect_timeout_ms` (0: the
  // session's bound), e.g. to poll a restarting server.
  virtual Status ConnectSql(int connect_timeout_ms = 0) = 0;
  // Forgets the SQL connection (the server restarted): the next statement reconnects.
  virtual void DropSql() = 0;
  // Whether an SQL connection is open now (no round trip).
  virtual bool sql_connected() const = 0;

  // One statement's round trip in two halves, for a caller that bounds the wait itself to the
  // millisecond (watch's probe, ops/probe.h; Connector/C's read timeout counts whole seconds).
  // SendQuery writes `sql` (connecting first when there is no connection) and returns;
  // AnswerWaiting says whether its answer, or the server closing the connection, is waiting within
  // `timeout_ms` (0: just look; with nothing sent, it waits for the server to close the connection);
  // ReadAnswer reads it as Query would, bounded by the read timeout. Nothing else may be sent before
  // the answer is read; a connection whose answer was never read is closed, never given back to a
  // pool. Errors are worded as Query's, with the statement as `what`.
  virtual Status SendQuery(const std::string& sql) = 0;
  virtual bool AnswerWaiting(int timeout_ms) = 0;
  virtual Result<std::vector<Row>> ReadAnswer() = 0;

  // --- Shell (SSH) ------------------------------------------------------------------------------
  // Opens the SSH session now when there is none (the shell verbs do it themselves), so a caller
  // can tell "cannot reach the host" from a failure of the file or command it names.
  virtual Status ConnectSsh() = 0;
  // As SshSession::Run: a non-zero exit is a result; errors are the transport and the timeout.
  virtual Result<ExecResult> Run(const std::string& command, std::string_view input = {}) = 0;
  // As providers/ssh/read_files.h ReadFiles: several files in one round trip.
  virtual Result<std::vector<FileRead>> ReadFiles(const std::vector<std::string>& paths) = 0;
  // As providers/ssh/atomic_write.h AtomicWrite.
  virtual Status AtomicWrite(const std::string& path, std::string_view content,
                             const AtomicWriteOptions& options = {}) = 0;
  // As providers/ssh/read_files.h ListDirectories: each directory's entries, in one command.
  virtual Result<std::vector<DirRead>> ListDirectories(const std::vector<std::string>& dirs) = 0;
  // Starts `command` and returns at once (RemoteCommand, above), for data too large to hold (a
  // seed's dump and restore) or a conversation that lasts (the cluster lock's holder).
  virtual Result<std::unique_ptr<RemoteCommand>> StartCommand(const std::string& command) = 0;
  // A command started ahead of need under `tag` (SessionPool::KeepStarted: watch's standby lock
  // holders, standby shells), taken with its SSH connection as this session's; null when there is
  // none, or when this session has its SSH connection already.
  virtual std::unique_ptr<RemoteCommand> TakeStartedCommand(const std::string& tag) = 0;

  // --- Typed verbs, over Query (non-virtual: one text for each statement) ------------------------
  Status Execute(const std::string& sql, const std::vector<const Secret*>& also_redact = {},
                 const std::string& what = {});
  // SHOW SLAVE STATUS, parsed by engine/live_state.h ParseReplicaChannel: the default channel,
  // nullopt when there is none.
  Result<std::optional<ReplicaChannel>> ReplicaStatus();
  // SHOW ALL SLAVES STATUS: every channel (only this statement reports the heartbeat period).
  Result<std::vector<ReplicaChannel>> AllReplicaChannels();
  Status StopReplica(ReplicaThreads threads = ReplicaThreads::kBoth);
  Status StartReplica(ReplicaThreads threads = ReplicaThreads::kBoth);
  // SET GLOBAL name = value; `sql_value` is already an SQL literal (a number, ON, or QuoteString's).
  Status SetGlobal(const std::string& name, const std::string& sql_value);
  // SELECT @@GLOBAL.name (errors: "reading @@name"); Internal when the server gives no row.
  Result<std::string> Global(const std::string& name);
  // One file, nullopt when it does not exist; FailedPrecondition when it cannot be read.
  Result<std::optional<std::string>> ReadFile(const std::string& path);
};

// Makes sessions; a session connects nothing until its first verb.
class SessionFactory {
 public:
  virtual ~SessionFactory() = default;
  virtual std::unique_ptr<ServerSession> Open(const ServerSpec& server, const SessionLimits& limits = {}) = 0;
};

// The real session: Connector/C and libssh2 (providers/mysql, providers/ssh), borrowing from
// `pool` when given and giving sound connections back to it when destroyed.
class LiveSessionFactory : public SessionFactory {
 public:
  explicit LiveSessionFactory(SessionPool* pool = nullptr) : pool_(pool) {}
  std::unique_ptr<ServerSession> Open(const ServerSpec& server, const SessionLimits& limits = {}) override;

 private:
  SessionPool* pool_;
};

struct PumpOptions {
  size_t buffer_bytes = 256 * 1024;  // the only buffer: replplan's memory does not grow with the data
  int idle_timeout_ms = 120000;      // no byte moved for this long: an error (a long transfer is not)
  int progress_interval_ms = 500;
  // Called every progress_interval_ms with bytes moved so far and seconds since the start.
  std::function<void(uint64_t bytes, double seconds)> progress;
};

struct PumpResult {
  uint64_t bytes = 0;
  // true: `from` reached EOF and every byte was written to `to` (stdin not closed yet: the caller
  // decides after checking how `from` ended). false: `to` closed before that (it failed).
  bool complete = false;
};

// Moves `from`'s stdout into `to`'s stdin, byte for byte, from this thread, polling both sockets.
// Errors: transport failures, and no progress for idle_timeout_ms.
Result<PumpResult> PumpStdoutToStdin(RemoteCommand& from, RemoteCommand& to, const PumpOptions& options);

}  // namespace replplan
