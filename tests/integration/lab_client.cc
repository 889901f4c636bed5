#include "integration/lab_client.h"

#include "engine/shell_quote.h"
#include "engine/text.h"
#include "engine/topology_parser.h"

#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace lab {
namespace {

// environ with `extra` entries added, replacing any variable of the same name.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::map<std::string, std::string> by_name;
  std::vector<std::string> order;
  auto add = [&](const std::string& entry) {
    std::string name = entry.substr(0, entry.find('='));
    if (!by_name.count(name)) order.push_back(name);
    by_name[name] = entry;
  };
  for (char** e = environ; *e != nullptr; ++e) add(*e);
  for (const auto& entry : extra) add(entry);
  std::vector<std::string> merged;
  for (const auto& name : order) merged.push_back(by_name[name]);
  return merged;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Reads whatever is available on `fd` into `sink`; false once the writer closed it.
bool Drain(int fd, std::string& sink) {
  char buffer[65536];
  ssize_t n = read(fd, buffer, sizeof buffer);
  if (n > 0) {
    sink.append(buffer, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

// Feeds stdin and drains stdout/stderr together: doing them one after another deadlocks as soon
// as the child fills a pipe buffer (64 KiB) while we block on another pipe.
void Pump(int in_fd, const std::string& input, int out_fd, int err_fd, CommandResult& result) {
  size_t written = 0;
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  while (out_fd >= 0 || err_fd >= 0) {
    pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents && !Drain(out_fd, result.out)) close(out_fd), out_fd = -1;
    if (fds[1].revents && !Drain(err_fd, result.err)) close(err_fd), err_fd = -1;
    if (in_fd >= 0 && fds[2].revents) {
      ssize_t n = (fds[2].revents & POLLOUT) ? write(in_fd, input.data() + written, input.size() - written) : -1;
      if (n > 0) written += static_cast<size_t>(n);
      // A child that exits without reading its input is not our error: stop feeding it.
      if (n < 0 && errno != EINTR && errno != EAGAIN) written = input.size();
      if (written == input.size()) close(in_fd), in_fd = -1;
    }
  }
  if (in_fd >= 0) close(in_fd);
}

std::string Trim(const std::string& s) { return std::string(replplan::TrimEnd(s)); }

std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

}  // namespace

CommandResult Run(const std::vector<std::string>& argv, const std::string& stdin_text,
                  const std::vector<std::string>& extra_env) {
  if (argv.empty()) throw std::invalid_argument("Run: empty argv");
  // Writing to a child that already exited must be an error code, not a signal that kills the test.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args = argv;
  std::vector<std::string> env = MergedEnvironment(extra_env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);

  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    execvpe(c_args[0], c_args.data(), c_env.data());
    std::string message = std::string("cannot run ") + c_args[0] + ": " + std::strerror(errno) + "\n";
    ssize_t ignored = write(2, message.data(), message.size());
    (void)ignored;
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);

  CommandResult result;
  Pump(in[1], stdin_text, out[0], err[0], result);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string Dir() {
  if (const char* dir = std::getenv("REPLPLAN_LAB_DIR"); dir != nullptr && *dir != '\0') return dir;
  return std::string(REPLPLAN_SOURCE_DIR) + "/.lab";
}

CommandResult Lab(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"bash", REPLPLAN_LAB};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, "", {"REPLPLAN_LAB_DIR=" + Dir()});
}

void Reset(int hosts) {
  CommandResult r = Lab({"reset", std::to_string(hosts)});
  if (r.exit_code != 0) throw std::runtime_error("lab.sh reset " + std::to_string(hosts) + " failed: " + Describe(r));
}

std::string Address(const std::string& host) {
  static const std::map<std::string, std::string> kLastOctet = {
      {"mercury", "61"}, {"uranus", "66"},  {"venus", "67"},   {"mars", "68"},
      {"jupiter", "69"}, {"saturn", "70"},  {"neptune", "71"}, {"pluto", "72"}};
  auto it = kLastOctet.find(host);
  if (it == kLastOctet.end()) throw std::invalid_argument("not a lab host: " + host);
  return Net() + "." + it->second;
}

std::string Net() {
  const char* net = std::getenv("REPLPLAN_LAB_NET");
  return net != nullptr && *net != '\0' ? net : "127.0.0";
}

std::string TopologyPath() { return Dir() + "/lab.toml"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string WriteFile(const std::string& name, const std::string& text) {
  std::filesystem::path dir = std::filesystem::path(Dir()) / "tmp";
  std::filesystem::create_directories(dir);
  std::string path = (dir / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
  return path;
}

std::string SecretValue(const std::string& name) {
  std::string text = ReadFile(Dir() + "/secrets/" + name);
  return Trim(text.substr(0, text.find('\n')));
}

std::vector<std::vector<std::string>> Sql(const std::string& host, const std::string& sql) {
  Address(host);  // rejects a typo before it becomes a confusing socket error
  CommandResult r = Run({"mariadb", "--no-defaults", "-S", Dir() + "/hosts/" + host + "/mysqld.sock", "-u",
                         "root", "-N", "-B"},
                        sql);
  if (r.exit_code != 0) {
    throw std::runtime_error("SQL as root on " + host + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err);
  }
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> row;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      row.push_back(line.substr(start, tab - start));
    }
    row.push_back(line.substr(start));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string SqlValue(const std::string& host, const std::string& sql) {
  auto rows = Sql(host, sql);
  return rows.empty() || rows.front().empty() ? "" : rows.front().front();
}

CommandResult AdminSql(const std::string& host, const std::string& sql) {
  return Run({"mariadb", "--no-defaults", "-h", Address(host), "-P", "3306", "-u", "admin", "--connect-timeout=5",
              "-N", "-B"},
             sql, {"MYSQL_PWD=" + SecretValue("admin.pw")});
}

CommandResult Ssh(const std::string& host, const std::string& command, const std::string& known_hosts) {
  std::string known = known_hosts.empty() ? Dir() + "/client/known_hosts" : known_hosts;
  return Run({"timeout", "60", "ssh", "-F", "/dev/null", "-i", Dir() + "/client/id_ed25519", "-o",
              "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + known, "-o", "GlobalKnownHostsFile=/dev/null",
              "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2222",
              "root@" + Address(host), command});
}

CommandResult Replplan(const std::vector<std::string>& args) {
  // Bounded: a replplan that hangs fails its test with exit 124 instead of holding the lab until
  // ctest's own timeout ends the whole test binary.
  std::vector<std::string> argv = {"timeout", "-k", "10", "300", REPLPLAN_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

namespace {

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

Background::Background(const std::vector<std::string>& args) {
  static int counter = 0;
  std::filesystem::create_directories(Dir() + "/tmp");
  log_ = Dir() + "/tmp/background-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".log";
  std::vector<std::string> argv = {REPLPLAN_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw = CStrings(argv);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int error = posix_spawn(&pid_, raw[0], &actions, nullptr, raw.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    pid_ = -1;
    throw std::runtime_error(std::string("cannot start ") + REPLPLAN_BINARY + ": " + std::strerror(error));
  }
}

Background::~Background() { Kill9(); }

std::string Background::Output() const {
  std::ifstream in(log_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Background::WaitForOutput(const std::string& needle, std::chrono::milliseconds limit) const {
  return WaitFor([&] { return Output().find(needle) != std::string::npos; }, limit);
}

int Background::Wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  int status = 0;
  if (!WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, limit)) {
    Kill9();
    return -1;
  }
  pid_ = -1;
  return ExitCode(status);
}

int Background::Terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  return Wait(grace);
}

void Background::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::string Cgroup2Root() {
  std::istringstream lines(lab::ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(lines, line)) {
    // "36 35 0:30 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw,..."
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string field, mount_point;
    for (int i = 0; i < 5 && fields >> field; ++i) mount_point = field;
    if (std::filesystem::exists(mount_point + "/cgroup.procs")) return mount_point;
  }
  return "";
}

namespace {

bool MoveSelfTo(const std::string& group_dir) {
  std::ofstream procs(group_dir + "/cgroup.procs");
  procs << getpid() << std::endl;
  return procs.good();
}

std::string CutOffRoot() {
  std::string root = Cgroup2Root();
  if (root.empty()) throw std::runtime_error("no cgroup v2 mount in /proc/self/mountinfo: cannot cut off one process");
  return root;
}

}  // namespace

CgroupCutOff::CgroupCutOff(const std::string& name, const std::string& address)
    : group_(name + "-" + std::to_string(getpid())), dir_(CutOffRoot() + "/" + group_), address_(address) {
  std::filesystem::create_directory(dir_);
}

CgroupCutOff::~CgroupCutOff() {
  Restore();
  LeaveSelf();
  std::error_code ignored;  // a member still inside keeps it; nothing to do about that here
  std::filesystem::remove(dir_, ignored);
}

CommandResult CgroupCutOff::Iptables(const std::string& op) {
  // -w: other labs on this machine change rules at the same time (the xtables lock).
  return Run({"iptables", "-w", op, "OUTPUT", "-p", "tcp", "-d", address_, "-m", "cgroup", "--path", group_, "-j",
              "REJECT", "--reject-with", "tcp-reset"});
}

CommandResult CgroupCutOff::Cut() {
  CommandResult inserted = Iptables("-I");
  rule_in_ = rule_in_ || inserted.exit_code == 0;
  return inserted;
}

void CgroupCutOff::Restore() {
  if (!rule_in_) return;
  Iptables("-D");
  rule_in_ = false;
}

CommandResult CgroupCutOff::RunInside(const std::vector<std::string>& argv) {
  std::vector<std::string> exec = {"exec"};
  exec.insert(exec.end(), argv.begin(), argv.end());
  return Run({"bash", "-c", "echo $$ > " + replplan::ShellQuote(dir_ + "/cgroup.procs") + " && " + replplan::ShellJoin(exec)});
}

bool CgroupCutOff::JoinSelf() {
  std::string own = ReadFile("/proc/self/cgroup");  // "0::/user.slice/...\n"
  own = own.substr(own.find("::") + 2);
  own = own.substr(0, own.find('\n'));
  if (!MoveSelfTo(dir_)) return false;
  home_ = Cgroup2Root() + own;
  return true;
}

bool CgroupCutOff::LeaveSelf() {
  if (home_.empty()) return true;
  if (!MoveSelfTo(home_)) return false;
  home_.clear();
  return true;
}

bool Background::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  pid_ = -1;  // reaped: exited
  return false;
}

bool Background::Signal(int signal) { return Running() && kill(pid_, signal) == 0; }

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (condition()) return true;
    } catch (const std::runtime_error&) {
      // Not yet: e.g. a table the replica has not received (1146) while replication catches up.
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();  // the last try's error, if any, reaches the test
}

std::string PrimaryIn(const std::string& path) {
  const std::string text = ReadFile(path);
  const size_t at = text.find("\nprimary");
  if (at == std::string::npos) throw std::runtime_error(path + " has no primary line");
  const size_t q1 = text.find('"', at);
  const size_t q2 = text.find('"', q1 + 1);
  return text.substr(q1 + 1, q2 - q1 - 1);
}

replplan::Topology LoadTopology() {
  auto parse = replplan::ParseTopology(ReadFile(TopologyPath()), TopologyPath());
  if (!parse.ok()) throw std::runtime_error("lab topology does not validate: " + parse.errors.front().ToString());
  return parse.topology;
}

namespace {

// Reads what `fd` (a pty's master side) gives until `needle` has appeared or the child closed its
// side (EIO), for `limit` at most.
bool ReadUntil(int fd, std::string& out, const std::string& needle, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (needle.empty() || out.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return needle.empty();  // EIO: the child is gone
    out.append(buffer, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

TerminalRun ReplplanOnTerminal(const std::vector<std::string>& args, const std::function<void()>& while_prompted,
                               const std::string& answer) {
  TerminalRun result;
  std::vector<std::string> argv = {REPLPLAN_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) throw std::runtime_error(std::string("forkpty: ") + std::strerror(errno));
  if (pid == 0) {
    execv(REPLPLAN_BINARY, cargv.data());
    _exit(127);
  }
  result.prompted = ReadUntil(master, result.out, "Enter a value:", std::chrono::seconds(60));
  if (result.prompted) while_prompted();
  const std::string line = answer + "\n";
  (void)!write(master, line.data(), line.size());
  ReadUntil(master, result.out, "", std::chrono::seconds(120));
  if (!WaitFor([&] { return waitpid(pid, &result.status, WNOHANG) == pid; }, std::chrono::seconds(30))) {
    kill(pid, SIGKILL);
    waitpid(pid, &result.status, 0);
  }
  close(master);
  return result;
}

ExtraSshd::ExtraSshd(const std::string& name, int port, const std::function<std::string(const std::string&)>& edit)
    : port_(port) {
  const std::string address = Address("mercury");
  std::string config, original = ReadFile(Dir() + "/hosts/mercury/sshd_config");
  for (size_t at = 0; at < original.size();) {
    size_t end = original.find('\n', at);
    if (end == std::string::npos) end = original.size();
    std::string line = original.substr(at, end - at);
    at = end + 1;
    if (line.rfind("PidFile", 0) == 0) continue;
    if (line.rfind("ListenAddress", 0) == 0) line = "ListenAddress " + address + ":" + std::to_string(port);
    line = edit(line);
    if (!line.empty()) config += line + "\n";
  }
  pid_file_ = Dir() + "/tmp/sshd-" + name + ".pid";
  std::filesystem::remove(pid_file_);  // a stale one would name a pid that may be another process now
  config += "PidFile " + pid_file_ + "\n";
  const std::string path = WriteFile("sshd_config." + name, config);
  const std::string log = Dir() + "/tmp/sshd-" + name + ".log";
  CommandResult started = Run({"/usr/sbin/sshd", "-f", path, "-r", "-E", log});
  if (started.exit_code != 0) throw std::runtime_error("sshd " + name + " did not start: " + started.err);
  // Its host keys are mercury's, so known_hosts needs them under this port.
  std::string known, all = ReadFile(Dir() + "/client/known_hosts");
  const std::string label = "[" + address + "]:2222 ";
  for (size_t at = all.find(label); at != std::string::npos; at = all.find(label, at + 1)) {
    known += "[" + address + "]:" + std::to_string(port) + " " +
             all.substr(at + label.size(), all.find('\n', at) - at - label.size()) + "\n";
  }
  known_hosts_ = WriteFile("known_hosts." + name, known);
  // sshd writes its pid file once it listens.
  if (!WaitFor([&] { return !Pid().empty(); }, std::chrono::seconds(5))) {
    throw std::runtime_error("sshd " + name + " wrote no pid file: " + ReadFile(log));
  }
}

ExtraSshd::~ExtraSshd() {
  const std::string pid = Pid();
  if (pid.empty()) return;
  Run({"kill", pid});
  WaitFor([&] { return Run({"kill", "-0", pid}).exit_code != 0; }, std::chrono::seconds(5));
}

std::string ExtraSshd::Pid() const {
  std::ifstream in(pid_file_);
  std::string pid;
  in >> pid;
  return pid;
}

void LoseRelayLogOverRestart(const std::string& host) {
  Sql(host, "STOP SLAVE");
  if (Lab({"stop", host}).exit_code != 0) throw std::runtime_error("lab.sh stop " + host + " failed");
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(Dir() + "/hosts/" + host + "/data")) {
    if (entry.path().filename().string().rfind("mysqld-relay-bin.", 0) == 0) removed += std::filesystem::remove(entry.path());
  }
  if (removed == 0) throw std::runtime_error("no relay log file to delete on " + host);
  if (Lab({"start", host}).exit_code != 0) throw std::runtime_error("lab.sh start " + host + " failed");
}

// A my.cnf with its bind-address line set to `address`.
std::string WithBindAddress(const std::string& cnf, const std::string& address) {
  std::istringstream in(cnf);
  std::string out, line;
  while (std::getline(in, line)) out += (line.rfind("bind-address", 0) == 0 ? "bind-address = " + address : line) + "\n";
  return out;
}

// mariadbd started on `host`'s my.cnf as lab.sh starts it (so lab.sh stops it), without waiting
// for it to answer over TCP: it may be configured not to.
void StartMariadbdWithoutWaiting(const std::string& host) {
  const std::string dir = Dir() + "/hosts/" + host;
  auto started = Run({"bash", "-c", "setsid /usr/sbin/mariadbd --defaults-file=\"$1/my.cnf\" </dev/null "
                                         ">>\"$1/error.log\" 2>&1 &", "start", dir});
  if (started.exit_code != 0) throw std::runtime_error("starting mariadbd on " + host + ": " + started.err);
  if (!WaitFor([&] { return SqlValue(host, "SELECT 1") == "1"; }, std::chrono::seconds(30))) {
    throw std::runtime_error("mariadbd on " + host + " did not answer within 30 s");
  }
}

}  // namespace lab
