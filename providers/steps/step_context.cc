// What several step families share (providers/steps/steps.h): the resolved secrets, the stale-plan
// message, small text helpers, and the words for a replica that stopped with an error.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>

#include "engine/mysql_errors.h"
#include "engine/sql_quote.h"
#include "engine/text.h"
#include "providers/local/secrets.h"
#include "providers/steps/steps.h"

namespace replplan {
namespace steps {

ResolvedSecrets::ResolvedSecrets(const Topology& topology) {
  std::vector<const SecretRef*> refs = {&topology.replication.password};
  for (const ServerSpec& server : topology.servers) refs.push_back(&server.mysql.password);
  for (const UserSpec& user : topology.users) refs.push_back(&user.password);
  for (const SecretRef* ref : refs) {
    auto key = std::make_pair(ref->kind, ref->name);
    if (ref->empty() || secrets_.count(key) != 0) continue;
    auto [it, inserted] = secrets_.emplace(key, ResolveSecret(*ref));
    if (it->second.ok()) all_.push_back(&it->second.value());
  }
}

Result<const Secret*> ResolvedSecrets::Of(const SecretRef& ref, const std::string& what) const {
  auto it = secrets_.find({ref.kind, ref.name});
  if (ref.empty() || it == secrets_.end()) return Status::InvalidArgument(what + " has no password in the topology");
  if (!it->second.ok()) return it->second.status().WithContext(what);
  return &it->second.value();
}

std::string StalePlan(const Action& action, const std::string& why) {
  return "stale plan: " + action.id + " " + why + " (plan again)";
}

std::string Field(const Row& row, const std::string& name) {
  auto it = row.find(name);
  return it == row.end() ? std::string() : it->second;
}

// The last lines of a command's stderr: enough to see why, short enough for one error line.
std::string Tail(const std::string& text) {
  constexpr size_t kMaxLines = 5;
  constexpr size_t kMaxChars = 600;
  std::string t(Trim(text));
  size_t pos = t.size();
  for (size_t lines = 0; lines < kMaxLines && pos != std::string::npos && pos > 0; ++lines) {
    pos = t.rfind('\n', pos - 1);
  }
  std::string tail = pos == std::string::npos ? t : t.substr(pos + 1);
  if (tail.size() > kMaxChars) tail = "..." + tail.substr(tail.size() - kMaxChars);
  for (char& c : tail) {
    if (c == '\n') c = ' ';
  }
  return tail.empty() ? "(no output)" : tail;
}

// Charset and collation names, binlog file names: a narrow alphabet, so they can be written bare.
bool IsPlainName(const std::string& s, const std::string& extra) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string::npos;
  });
}

void Say(const StepContext& ctx, const std::string& line) {
  if (ctx.progress) ctx.progress(line);
}

std::string Seconds(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f s", s);
  return buffer;
}

std::string ReplicaFailure(const StepContext& ctx, const ReplicaChannel& channel, const std::string& what) {
  const ServerSpec* source = nullptr;
  for (const ServerSpec& s : ctx.topology.servers) {
    if (s.address == channel.source_host) source = &s;
  }
  std::string source_name = source ? source->name : channel.source_host;
  std::string where = channel.source_host + ":" + std::to_string(channel.source_port);
  std::string text = ctx.server.name + ": " + what + " (Slave_IO_Running: " + channel.io_running +
                     ", Slave_SQL_Running: " + (channel.sql_running ? "Yes" : "No") + ")";
  if (channel.last_io_errno != 0) {
    text += "; Last_IO_Errno " + std::to_string(channel.last_io_errno) + ": " + channel.last_io_error;
    int number = channel.last_io_errno;
    if (number == kErrBinlogGone) {
      text += " (remedy: " + source_name + " no longer has the binlog this replica needs; reseed " +
              ctx.server.name + ")";
    } else if (number == kErrAccessDenied) {
      text += " (remedy: " + source_name + " refused the replication login: check that " +
              QuoteAccount(ctx.topology.replication.user, ctx.topology.replication.host) + " exists on " + source_name +
              " with REPLICATION SLAVE and the password from " + ctx.topology.replication.password.Describe() + ")";
    } else if (number == kErrConnRefused || number == kErrConnLocal) {
      text += " (remedy: " + source_name + " is not reachable at " + where +
              ": is it running, and is its bind_address right?)";
    }
  }
  if (channel.last_sql_errno != 0) {
    text += "; Last_SQL_Errno " + std::to_string(channel.last_sql_errno) + ": " + channel.last_sql_error +
            " (remedy: the replica's data diverged from its source; reseed " + ctx.server.name + ")";
  }
  return text;
}

// --- stopping a replica without waiting on its source -------------------------------------------

namespace {

// The IO thread's state while it waits on its source's socket: the only one a KILL ends at once.
constexpr const char* kIoWaitingForEvent = "Waiting for master to send event";

}  // namespace

Status StopReplicaNow(const StepContext& ctx, const ReplicaChannel& channel, ReplicaThreads threads) {
  const std::string& name = ctx.server.name;
  const std::string stop = threads == ReplicaThreads::kIo    ? "STOP SLAVE IO_THREAD"
                           : threads == ReplicaThreads::kSql ? "STOP SLAVE SQL_THREAD"
                                                             : "STOP SLAVE";
  if (threads == ReplicaThreads::kSql || channel.io_running != "Yes" || channel.io_state != kIoWaitingForEvent) {
    return ctx.session.StopReplica(threads);
  }
  auto io = ctx.session.Query("SELECT ID, STATE FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'", {},
                              "reading the IO thread's connection id (information_schema.PROCESSLIST)");
  if (!io.ok()) return io.status();
  // Several IO threads: which is the default channel's is not known, and only it may be ended.
  const std::string id = io->size() == 1 ? Field(io->front(), "ID") : "";
  if (id.empty() || !IsDigits(id) || Field(io->front(), "STATE") != kIoWaitingForEvent) {
    return ctx.session.StopReplica(threads);
  }
  const std::string kill = "KILL CONNECTION " + id;
  Status killed = ctx.session.Execute(kill, {}, kill + " (the IO thread, before " + stop + ")");
  // 1094: the thread ended meanwhile, which is what the KILL was for.
  if (!killed.ok() && killed.sql_errno() != kErrNoSuchThread) {
    return killed.WithNote("nothing else was done: " + name + "'s replication threads are as they were");
  }
  // The STOP on a connection of its own whose read timeout is the bound: the step's own waits 30 s.
  const auto start = std::chrono::steady_clock::now();
  auto bounded = ctx.sessions.Open(ctx.server, SessionLimits{.sql_read_timeout_ms = kStopAfterKillBoundMs});
  Status stopped = bounded->StopReplica(threads);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!stopped.ok()) {
    // Bounded out (the connection's read timeout: 2013), or refused outright (1290, ...): said as
    // such, and the errno kept as a field for the caller.
    const int e = stopped.sql_errno();
    const bool bounded_out = e == 0 || e == kErrServerLost || e == kErrServerGone;
    return Status::Unavailable(name + ": " + stop + " after " + kill +
                               (bounded_out ? " did not end within " + std::to_string(kStopAfterKillBoundMs) + " ms ("
                                            : " failed (") +
                               stopped.message() +
                               "); nothing after it was done (the server may still be stopping the replica: see "
                               "SHOW SLAVE STATUS on " + name + ", then run the action again)")
        .WithSqlErrno(e);
  }
  Say(ctx, name + ": IO thread (connection " + id + ") killed, then " + stop + " in " + Seconds(took));
  return Status::OK();
}

}  // namespace steps
}  // namespace replplan
