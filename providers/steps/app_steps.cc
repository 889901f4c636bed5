// The app steps: rewrite an app's database settings (Rails: config/database.yml) to the file's
// primary, restart the app (once per content of that file), check its health URL.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/app_restart_marker.h"
#include "engine/database_yml.h"
#include "engine/shell_quote.h"
#include "engine/text.h"
#include "providers/http/http_get.h"
#include "providers/ssh/atomic_write.h"
#include "providers/ssh/read_files.h"
#include "providers/standby_shell.h"
#include "providers/steps/steps.h"

namespace replplan {
namespace steps {
namespace {

using Clock = std::chrono::steady_clock;

// The app's restart command: bounded, like every command replplan runs.
constexpr int kAppCommandTimeoutMs = 300'000;
// check-health polls often, so a fast app's time is measured to within a tenth of a second.
constexpr auto kHealthPause = std::chrono::milliseconds(75);
constexpr auto kHealthProgressEvery = std::chrono::seconds(5);
constexpr int kCurlMaxTimeS = 5;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The [[app]] called `name`, with the action's host among its hosts.
Result<const AppSpec*> AppOf(const StepContext& ctx, const Action& action, const std::string& name) {
  for (const AppSpec& app : ctx.topology.apps) {
    if (app.name != name) continue;
    if (std::find(app.hosts.begin(), app.hosts.end(), action.host) == app.hosts.end()) {
      return Status::InvalidArgument(StalePlan(action, "names app " + app.name + ", which does not run on " + action.host));
    }
    return &app;
  }
  return Status::InvalidArgument(StalePlan(action, "names an app the topology does not declare"));
}

// The restart marker sits in the app's config directory, which the app's user may write to: a
// symlink planted there must not make root write through it (onto any file of the host). So the
// marker is written like database.yml (a new temp file, renamed over the name) but always 0600
// and the SSH user's, with no backup, and anything but a regular file at its name is refused
// (decided over replacing it: a link there is no marker replplan wrote, and the operator should
// see it). A link planted between the check and the rename is replaced, never followed.
const AtomicWriteOptions kMarkerWrite = {
    .follow_symlink = false, .keep_owner_and_mode = false, .new_mode = 0600, .backup = false};

}  // namespace

Status RewriteAppConfig(const StepContext& ctx, const Action& action) {
  const auto& args = action.Args<RewriteAppConfigArgs>();
  auto app = AppOf(ctx, action, args.app);
  if (!app.ok()) return app.status();
  const ServerSpec* primary = ctx.topology.FindServer(args.primary);
  if (primary == nullptr) return Status::InvalidArgument(StalePlan(action, "has no valid primary server"));
  const std::string path = (*app)->DatabaseYmlPath();
  const std::string where = ctx.server.name + ": " + path;

  Status ssh = ctx.session.ConnectSsh();
  if (!ssh.ok()) return ssh;
  auto current = ctx.session.ReadFile(path);
  if (!current.ok()) return current.status().WithContext(where);
  if (!current->has_value()) {
    return Status::NotFound(where + " does not exist (app " + (*app)->name + ", root " + (*app)->root + ")");
  }
  const std::string& before = **current;
  auto after = EditDatabaseYml(before, (*app)->environment,
                               {{"host", primary->address}, {"port", std::to_string(primary->mysql.port)}});
  if (!after.ok()) return after.status().WithContext(where);
  if (*after == before) return Status::OK();  // points there already (an earlier run)

  Status written = ctx.session.AtomicWrite(path, *after);
  if (!written.ok()) return written.WithContext(where);
  ctx.rewritten[path] = AppRestartDigest(*after);
  return Status::OK();
}

// A restart is done once per content of database.yml: a digest of the file the app was last
// restarted with, its secrets left out (engine/app_restart_marker.h), is kept beside it
// (<database.yml>.replplan.restarted), so running the action again does not restart the app
// again, while a new rewrite (another primary) does.
Status RestartApp(const StepContext& ctx, const Action& action) {
  auto app = AppOf(ctx, action, action.Args<RestartAppArgs>().app);
  if (!app.ok()) return app.status();
  const std::string& name = ctx.server.name;
  const std::string yml = (*app)->DatabaseYmlPath();
  const std::string marker = (*app)->RestartMarkerPath();
  const std::string where = name + ": app " + (*app)->name;

  // The digest the planner computes too (engine/fingerprint.h), so a plan can tell an app that was
  // never restarted after its rewrite (an apply interrupted in between) and restart it.
  std::string checksum;
  auto written = ctx.rewritten.find(yml);
  if (written != ctx.rewritten.end()) {
    // Rewritten by this apply a moment ago (a failover's path to the apps' first write): no run
    // restarted the app with that content yet, or the rewrite would have found nothing to change.
    checksum = written->second;
    ctx.rewritten.erase(written);
  } else {
    Status ssh = ctx.session.ConnectSsh();
    if (!ssh.ok()) return ssh;
    auto files = ctx.session.ReadFiles({yml, marker});  // both in one round trip
    if (!files.ok()) return files.status().WithContext(where + ": reading " + yml);
    for (const FileRead& file : *files) {
      if (!file.read_ok) return Status::FailedPrecondition(file.error).WithContext(where);
    }
    const FileRead& text = (*files)[0];
    const FileRead& mark_now = (*files)[1];
    checksum = text.exists ? AppRestartDigest(text.text) : "";
    std::string recorded = mark_now.exists ? std::string(Trim(mark_now.text)) : "";
    if (text.exists && AppRestartMarkerMatches(recorded, text.text)) {
      Say(ctx, where + ": already restarted with this " + yml + " (" + marker + ")");
      if (!IsLegacyAppRestartMarker(recorded)) return Status::OK();
      // Written by an older replplan: a world-readable digest of the whole file, password included.
      Status upgraded = ctx.session.AtomicWrite(marker, checksum + "\n", kMarkerWrite);
      return upgraded.WithContext(where + ": rewriting " + marker + " without the password's digest");
    }
  }

  // Its own session: the command may take long, and the cached session's bound is for quick ones.
  // SIGHUP and SIGPIPE ignored: a replplan killed mid-way must not leave the app half restarted.
  // A standby shell (watch keeps one on every server) runs it with one write, its SSH connection
  // then the session's.
  const std::string command = "trap '' HUP PIPE; " + (*app)->restart;
  auto session = ctx.sessions.Open(ctx.server, SessionLimits{.command_timeout_ms = kAppCommandTimeoutMs});
  Result<ExecResult> run = Status::Internal("not run");
  if (auto standby = RunOnStandbyShell(*session, command, {}, kAppCommandTimeoutMs)) {
    run = std::move(*standby);
  } else {
    Status opened = session->ConnectSsh();
    if (!opened.ok()) return opened;
    run = session->Run(command);
  }
  if (!run.ok()) return run.status().WithContext(where + ": restart command");
  if (run->exit_status != 0) {
    return Status::Internal(where + ": restart command failed (exit " + std::to_string(run->exit_status) + "): " +
                            Tail(run->err.empty() ? run->out : run->err));
  }
  Say(ctx, where + ": restarted");
  if (checksum.empty()) return Status::OK();  // no database.yml to remember
  // The command ran, so its session is sound and serves the marker too.
  Status mark = session->AtomicWrite(marker, checksum + "\n", kMarkerWrite);
  if (!mark.ok()) {
    return Status::Internal(where + ": restarted, but could not write " + marker + ": " + mark.message() +
                            " (a second run would restart it again)");
  }
  return Status::OK();
}

// Measured from replplan's machine for http:// (what clients see, as close as replplan can get);
// https:// goes through curl on the app host, so replplan needs no TLS stack or CA setup.
Status CheckHealth(const StepContext& ctx, const Action& action) {
  auto app = AppOf(ctx, action, action.Args<CheckHealthArgs>().app);
  if (!app.ok()) return app.status();
  const int limit = ctx.health_timeout_s;
  const std::string& url = (*app)->health;
  const std::string where = ctx.server.name + ": app " + (*app)->name;
  if (url.empty()) return Status::InvalidArgument(StalePlan(action, "checks app " + (*app)->name + ", which has no health URL"));
  bool https = url.rfind("https://", 0) == 0;
  HttpUrl http;
  if (!https) {
    auto parsed = ParseHttpUrl(url);
    if (!parsed.ok()) return parsed.status().WithContext(where);
    http = *parsed;
  }

  // One probe: "" when healthy, else what went wrong.
  auto probe = [&]() -> std::string {
    if (!https) {
      auto response = HttpGet(http);
      if (!response.ok()) return response.status().message();
      if (response->status >= 200 && response->status < 300) return "";
      std::string body = response->body_head;
      for (char& c : body) {
        if (c == '\r' || c == '\n') c = ' ';
      }
      return "HTTP " + std::to_string(response->status) + (body.empty() ? "" : ": " + body);
    }
    Status ssh = ctx.session.ConnectSsh();
    if (!ssh.ok()) return ssh.message();
    auto run = ctx.session.Run(
        ShellJoin({"curl", "-fsS", "-o", "/dev/null", "--max-time", std::to_string(kCurlMaxTimeS), url}));
    if (!run.ok()) return run.status().message();
    return run->exit_status == 0 ? "" : "curl exit " + std::to_string(run->exit_status) + ": " + Tail(run->err);
  };

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(limit);
  auto next_progress = start + kHealthProgressEvery;
  int attempts = 0;
  for (;;) {
    ++attempts;
    std::string failure = probe();
    if (failure.empty()) {
      Say(ctx, where + ": " + url + " healthy after " + Seconds(SecondsSince(start)) + " (" +
                        std::to_string(attempts) + " attempt" + (attempts == 1 ? "" : "s") + ")");
      return Status::OK();
    }
    if (Clock::now() >= deadline) {
      return Status::Unavailable(where + ": " + url + " did not answer 2xx within " + std::to_string(limit) + " s (" +
                                 std::to_string(attempts) + " attempts); last: " + failure);
    }
    if (Clock::now() >= next_progress) {
      next_progress += kHealthProgressEvery;
      Say(ctx, where + ": waiting for " + url + " (" + Seconds(SecondsSince(start)) + "): " + failure);
    }
    std::this_thread::sleep_for(kHealthPause);
  }
}

}  // namespace steps
}  // namespace replplan
