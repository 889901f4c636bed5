// A fake server behind the ServerSession seam (providers/server_session.h), for unit tests: no
// MariaDB, no sshd. Linked into unit tests only (the replplan_fake_server library).
//
// A FakeServer is one server's tiny model and its fault switches; FakeSessionFactory hands out
// sessions over a map of them, by server name. What the model answers:
// - `SELECT @@GLOBAL.x AS a, @@GLOBAL.y AS b`: one row from `globals` (an unknown name fails with
//   1193, as MariaDB does); `SET GLOBAL x = v` sets it (ON/OFF read back as 1/0, quotes dropped,
//   `@@GLOBAL.y` copies y).
// - The default replica channel (`replica`, a SHOW SLAVE STATUS row keyed by column name, nullopt
//   when there is none): SHOW SLAVE STATUS and SHOW ALL SLAVES STATUS render it; STOP/START SLAVE
//   [IO_THREAD|SQL_THREAD] turn its Slave_*_Running columns; RESET SLAVE ALL removes it; CHANGE
//   MASTER TO sets its Master_Host/Port/User and Using_Gtid (creating it when there is none).
// - Its IO thread, while Slave_IO_Running is not No, is connection kIoThreadId in
//   information_schema.PROCESSLIST (`SELECT ID, STATE ... WHERE COMMAND = 'Slave_IO'`, its STATE the
//   channel's Slave_IO_State); `KILL CONNECTION n` ends it (Slave_IO_Running No at once, where
//   MariaDB ends a killed IO thread at the STOP SLAVE that follows; 1094 for an id not there).
//   `io_stop_wait` models an IO thread blocked on a silent source: STOP SLAVE [IO_THREAD] answers
//   that late while the IO thread runs (bounded by the read timeout as a Freeze is), at once once it
//   was killed.
// - `files`: ReadFiles and AtomicWrite (which keeps the old content as <path>.replplan.bak when
//   asked to, like the real one).
// - Scripted answers (Answer*, by exact text or prefix, the newest first) win over the model. A
//   SELECT or SHOW neither models nor scripts fails (so a test never reads an empty answer it did
//   not mean); any other statement succeeds with no rows. A command nothing scripts exits 0.
// - `files` also answer ListDirectories: a directory exists when a file lies below it, and lists
//   the first name of each path below it.
// - Started commands (StartCommand) play a CommandScript (ScriptCommand, by prefix, the newest
//   first; unscripted: no output, exit 0): all of `out` at once, then EOF, unless `until_stdin_eof`
//   (a restore, a lock holder that holds: its output ends when its stdin is closed) or `silent`
//   (never a byte nor an end: a holder stuck on a frozen host; Finish gives up after its idle
//   timeout). Everything written to a command's stdin is kept (started()). TakeStartedCommand takes
//   the standby KeepStarted left under its tag (logged "take: <tag>"). A command's Converse (one
//   write and EOF, then its whole output) gives `out`, `err` and `exit_status`.
// - KeepStandbyShell keeps watch's standby shell (providers/standby_shell.h), playing its protocol in
//   Converse: the input's <nonce>\0<command>\0 is read, then `out` and `err` (what the login shell
//   printed on starting), the nonce on both, and the command's own output as Run would give it (an
//   AnswerCommand script; logged "run: <command>", as it ran). Its faults: `silent` (never a byte:
//   Converse returns the command timeout's error, without waiting it out: a restart's bound is
//   minutes), `drop_after` (the connection drops after that many bytes of stdout, the nonce and
//   banner included), `wrong_nonce` (another nonce, nothing run: a shell gone before it read).
// Everything a session asks is logged in order: "sql: STOP SLAVE" (the statement with the secrets
// the caller passed as also_redact redacted: a log that shows one shows a secret the executor did
// not declare), "read: <path>", "write: <path>", "run: <command>", "list: <dir>", "start: <command>". Statements refused because the
// connection is down never reached the server and are not logged; a statement that failed or froze
// after it was sent is.
//
// Faults (each fires once, in the order set; the statement a fault fires on changes nothing in the
// model):
// - FailStatement(n, errno) / FailNext(prefix, errno): the n-th statement this server receives
//   (counted from 1 over its whole life, every session), or the next one starting with `prefix`,
//   fails with that errno and a MariaDB-like message, classified as Connector/C errors are.
// - Freeze(prefix, T): the next statement starting with `prefix` answers after T; when T exceeds the
//   session's read timeout (SessionLimits, else `default_read_timeout_ms`), the verb returns after
//   the timeout with kUnavailable / 2013 and the session's connection is dropped, as Connector/C's.
// - DropSqlAfter(n): the next n statements are answered, the one after fails with 2013 and its
//   connection is dropped; every later connect fails with 2013 until AllowSqlReconnect().
// - The same for shell verbs, matched on their log line ("write: /srv/app/config/database.yml",
//   "run: systemctl"): FailShell (the operation fails with the given Status), FreezeShell (bounded
//   by the session's command timeout: kUnavailable after it, session dropped), DropShell (kUnavailable,
//   session dropped, further shell verbs kUnavailable until AllowShellReconnect()).
// - SendQuery, AnswerWaiting and ReadAnswer (the split round trip of watch's probe): the statement is
//   received when sent (logged, counted, its fault found); a frozen one's answer is waiting once its
//   freeze has passed, whatever the read timeout, and ReadAnswer before that waits for it, bounded
//   by the read timeout (then 2013, connection dropped). With nothing sent, AnswerWaiting returns
//   true only when the server dropped its connections (DropSqlAfter).
// - DropStreamAfter(line_prefix, n): the next command started whose log line matches gives n bytes
//   of its stdout, then its connection drops (kUnavailable on the next read, write or Finish; later
//   shell verbs kUnavailable until AllowShellReconnect()).
// - FailConnect(errno): every SQL connect fails with that errno (1045: a refused login) until
//   AllowSqlReconnect().
// Sessions opened with SessionLimits::name_errors false word their errors as the real one does then.
// FakeSessionFactory::Refuse(name) makes every connect to that server fail (SQL: 2003).
//
// Thread-safe: a FakeServer may be used by sessions on several threads (the executor runs actions
// on different hosts at once, and one action may read another server).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "providers/server_session.h"

namespace replplan {

class FakeServer {
 public:
  FakeServer() = default;
  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  // --- the model (set these before the sessions run; read them after) ---------------------------
  std::map<std::string, std::string> globals;  // lower-case variable name -> value as SELECT shows it
  std::optional<Row> replica;                  // the default channel, as SHOW SLAVE STATUS shows it
  std::map<std::string, std::string> files;    // path -> content
  int default_read_timeout_ms = 30000;         // a session's read timeout when its limits give none
  std::chrono::milliseconds io_stop_wait{0};   // STOP SLAVE's wait for a running IO thread (above)
  static constexpr int kIoThreadId = 9;

  // A replica channel replicating from host:port as `user`, both threads running, GTID slave_pos.
  static Row ReplicaRow(const std::string& host, int port, const std::string& user);

  // --- scripted answers -------------------------------------------------------------------------
  void Answer(const std::string& statement, std::vector<Row> rows);
  void AnswerPrefix(const std::string& prefix, std::vector<Row> rows);
  void AnswerCommand(const std::string& prefix, ExecResult result);
  struct CommandScript {
    std::string out;  // its whole stdout
    int exit_status = 0;
    std::string err;
    bool until_stdin_eof = false;
    bool silent = false;
    // Globals it sets once it finished cleanly (a restore's SET GLOBAL gtid_slave_pos).
    std::map<std::string, std::string> sets_globals;
    // Its connection drops after this many bytes of stdout (a kept command's DropStreamAfter).
    std::optional<size_t> drop_after;
    bool standby_shell = false;  // plays a standby shell's protocol (KeepStandbyShell)
    bool wrong_nonce = false;    // a standby shell that answers another nonce and runs nothing
  };
  void ScriptCommand(const std::string& prefix, CommandScript script);
  // A command started ahead of need under `tag` (see ServerSession::TakeStartedCommand).
  void KeepStarted(const std::string& tag, const std::string& command, CommandScript script);
  // Watch's standby shell, kept under its tag (above); `script` gives its banner and faults.
  void KeepStandbyShell(CommandScript script);
  void KeepStandbyShell() { KeepStandbyShell(CommandScript{}); }

  // A started command as the server saw it.
  struct StartedCommand {
    std::string command;
    std::string input;          // every byte written to its stdin
    bool stdin_closed = false;  // EOF sent (Finish)
    bool finished = false;      // Finish gave its exit status
    bool abandoned = false;     // destroyed without a Finish that ended it: its channel was closed
  };
  std::vector<StartedCommand> started() const;

  // --- faults -------------------------------------------------------------------------------------
  void FailStatement(int n, int sql_errno);
  void FailNext(const std::string& prefix, int sql_errno);
  void Freeze(const std::string& prefix, std::chrono::milliseconds duration);
  void DropSqlAfter(int n);
  void AllowSqlReconnect();
  // `line_prefix` matches a shell verb's log line: "write: /srv/", "run: trap".
  void FailShell(const std::string& line_prefix, Status status);
  void FreezeShell(const std::string& line_prefix, std::chrono::milliseconds duration);
  void DropShell(const std::string& line_prefix);
  void DropStreamAfter(const std::string& line_prefix, size_t bytes);
  // Every started command's connection drops now (the host closed them).
  void DropStreams();
  void AllowShellReconnect();
  void FailConnect(int sql_errno);

  // --- what was asked -----------------------------------------------------------------------------
  std::vector<std::string> log() const;
  // The "sql: " lines of the log, without the prefix.
  std::vector<std::string> statements() const;
  void ClearLog();
  int statements_received() const;
  int sql_connects() const;

 private:
  friend class FakeServerSession;
  friend class FakeCommand;
  struct Scripted {
    std::string text;
    bool prefix = false;
    std::vector<Row> rows;
  };
  struct SqlFault {
    enum class Kind { kFailNth, kFailPrefix, kFreeze } kind;
    int n = 0;
    std::string prefix;
    int sql_errno = 0;
    std::chrono::milliseconds duration{0};
  };
  struct ShellFault {
    enum class Kind { kFail, kFreeze, kDrop, kDropStreamAfter } kind;
    std::string prefix;
    Status status;
    std::chrono::milliseconds duration{0};
    size_t bytes = 0;
  };
  // A started command's state, shared by its handle and started().
  struct Stream {
    StartedCommand seen;
    CommandScript script;
    size_t sent = 0;                    // bytes of script.out read so far
    std::optional<size_t> drop_after;  // bytes of stdout before the connection drops
    bool dropped = false;
  };
  // What a statement got: rows, an error, and whether the connection is gone after it.
  struct SqlOutcome {
    Result<std::vector<Row>> rows = std::vector<Row>{};
    bool drop = false;
    std::chrono::milliseconds freeze{0};
  };
  // Under the lock: logs the statement, counts it, finds its fault, or answers it from the model.
  SqlOutcome Receive(const std::string& sql, const std::string& logged, const std::string& endpoint,
                     std::chrono::milliseconds read_timeout);
  Result<std::vector<Row>> Model(const std::string& sql, const std::string& endpoint);
  // What AnswerCommand scripted for `command` (the newest prefix first; exit 0 and no output when
  // nothing does). Under the lock.
  ExecResult ScriptedRun(const std::string& command) const;
  // The fault for a shell log line, removed from the list; nullopt when none.
  std::optional<ShellFault> TakeShellFault(const std::string& line);

  mutable std::mutex mutex_;
  std::vector<std::string> log_;
  std::vector<Scripted> answers_;
  std::vector<std::pair<std::string, ExecResult>> commands_;
  std::vector<std::pair<std::string, CommandScript>> scripts_;
  std::map<std::string, std::shared_ptr<Stream>> standby_;
  std::vector<std::shared_ptr<Stream>> streams_;
  std::optional<int> connect_errno_;
  std::deque<SqlFault> sql_faults_;
  std::deque<ShellFault> shell_faults_;
  int received_ = 0;
  int connects_ = 0;
  std::optional<int> drop_after_;  // statements still answered before the drop
  bool sql_down_ = false;
  bool shell_down_ = false;
};

class FakeSessionFactory : public SessionFactory {
 public:
  // The server named `name`, made empty on first mention; its address stays valid.
  FakeServer& server(const std::string& name);
  // Every connect to `name` fails (SQL: 2003, SSH: connection refused) until Accept(name).
  void Refuse(const std::string& name);
  void Accept(const std::string& name);
  bool refused(const std::string& name) const;

  std::unique_ptr<ServerSession> Open(const ServerSpec& server, const SessionLimits& limits = {}) override;
  int sessions_opened() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<FakeServer>> servers_;
  std::set<std::string> refused_;
  int opened_ = 0;
};

// "Lost connection to server during query" for 2013, as MariaDB's client says each number the
// fakes use; "error <n>" for others.
std::string FakeMysqlErrorText(int sql_errno);

}  // namespace replplan
