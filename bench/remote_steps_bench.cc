// Benchmark: the remote steps of a failover's path on one warm SSH session, each the new way
// against the old way in the same run, interleaved: reading a file (SFTP vs a command), reading a
// host's config and an app's two files at once (ReadFiles vs ReadFilesByCommand), and replacing
// database.yml atomically (AtomicWrite vs AtomicWriteCommand). Prints medians and ratios.
//
//   remote_steps_bench TOPOLOGY DIR [RUNS]
// TOPOLOGY's first server is used; DIR is a directory on it (the lab's own tmp: loopback only).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/topology_parser.h"
#include "providers/connect_options.h"
#include "providers/server_session.h"
#include "providers/ssh/atomic_write.h"
#include "providers/ssh/read_files.h"
#include "providers/ssh/ssh_session.h"
#include "providers/standby_shell.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "remote_steps_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const replplan::Status& status, const char* what) {
  if (!status.ok()) Die(std::string(what) + ": " + status.message());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Die("usage: remote_steps_bench TOPOLOGY DIR [RUNS]");
  const std::string dir = argv[2];
  const int runs = argc > 3 ? std::atoi(argv[3]) : 30;
  std::ifstream in(argv[1]);
  if (!in) Die(std::string("cannot read ") + argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  replplan::TopologyParse parse = replplan::ParseTopology(text.str(), argv[1]);
  if (!parse.ok()) Die(parse.errors.front().ToString());
  const replplan::ServerSpec& server = parse.topology.servers.front();
  auto session = replplan::SshSession::Connect(replplan::SshOptionsFor(server));
  if (!session.ok()) Die(session.status().message());
  replplan::SshSession& ssh = **session;
  auto sftp = ssh.StartSftp();
  if (!sftp.ok() || !*sftp) Die("the server offers no SFTP");

  const std::string yml = dir + "/database.yml";
  const std::string marker = yml + ".replplan.restarted";
  std::string content = "production:\n  adapter: mysql2\n  host: 127.0.0.61\n  port: 3306\n";
  for (int i = 0; i < 40; ++i) content += "# a comment line that keeps the file near its real size\n";
  Check(replplan::AtomicWrite(ssh, yml, content), "seeding database.yml");
  Check(replplan::AtomicWrite(ssh, marker, "0123456789abcdef\n"), "seeding the marker");
  const std::vector<std::string> three = {server.config_file, yml, marker};

  struct Pair {
    const char* name;
    std::function<void()> now, before;
    std::vector<double> now_ms, before_ms;
  };
  auto time_ms = [](const std::function<void()>& step) {
    auto start = Clock::now();
    step();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  std::vector<Pair> pairs;
  pairs.push_back({"read one file", [&] {
                     auto r = ssh.ReadFile(yml);
                     if (!r.ok() || !r->has_value()) Die("ReadFile");
                   },
                   [&] {
                     auto r = replplan::ReadFilesByCommand(ssh, {yml});
                     if (!r.ok() || !(*r)[0].exists) Die("ReadFilesByCommand");
                   },
                   {}, {}});
  pairs.push_back({"read config + database.yml + marker", [&] {
                     auto r = replplan::ReadFiles(ssh, three);
                     if (!r.ok()) Die("ReadFiles: " + r.status().message());
                   },
                   [&] {
                     auto r = replplan::ReadFilesByCommand(ssh, three);
                     if (!r.ok()) Die("ReadFilesByCommand: " + r.status().message());
                   },
                   {}, {}});
  pairs.push_back({"replace database.yml atomically", [&] { Check(replplan::AtomicWrite(ssh, yml, content), "AtomicWrite"); },
                   [&] {
                     auto run = ssh.Run(replplan::AtomicWriteCommand(yml), content);
                     if (!run.ok() || run->exit_status != 0) Die("AtomicWriteCommand");
                   },
                   {}, {}});
  // The app's restart command (the touch) on a standby shell, against a fresh exec on the warm
  // session. Each standby is started (untimed) before its use, as watch's keeper does.
  replplan::SessionPool pool;
  const std::string touch = "trap '' HUP PIPE; touch " + dir + "/restart.txt";
  pairs.push_back({"run the touch", [&] {
                     replplan::LiveSessionFactory sessions(&pool);
                     auto session = sessions.Open(server);
                     auto run = replplan::RunOnStandbyShell(*session, touch, {}, 10000);
                     if (!run || !run->ok() || (*run)->exit_status != 0) Die("RunOnStandbyShell");
                   },
                   [&] {
                     auto run = ssh.Run(touch);
                     if (!run.ok() || run->exit_status != 0) Die("Run");
                   },
                   {}, {}});
  auto prepare = [&](const Pair& p) {
    if (std::string(p.name) != "run the touch") return;
    replplan::KeepStandbyShells(parse.topology, pool);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its shell is up and waiting, as in watch
  };
  for (Pair& p : pairs) {  // warm-up: page cache, sshd's first fork
    prepare(p);
    p.now();
    p.before();
  }
  for (int i = 0; i < runs; ++i) {
    for (Pair& p : pairs) {  // interleaved, so drift on the machine hits both ways alike
      prepare(p);
      p.now_ms.push_back(time_ms(p.now));
      p.before_ms.push_back(time_ms(p.before));
    }
  }
  std::printf("remote steps on one warm SSH session to %s, median of %d\n", server.name.c_str(), runs);
  for (const Pair& p : pairs) {
    double now = Median(p.now_ms), before = Median(p.before_ms);
    std::printf("  %-38s %6.2f ms, was %6.2f ms by command: ratio %.2f\n", p.name, now, before, now / before);
  }
  return 0;
}
