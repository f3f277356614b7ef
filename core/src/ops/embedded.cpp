// The embedded default server. docs/embedded.md describes the behaviour for users;
// the comments here say why the code is shaped the way it is.
#include "evcs/embedded.hpp"
#include "ops/pg_programs.hpp"

#include "evcs/error.hpp"

#include <libpq-fe.h>

#include <fcntl.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

namespace evcs {
namespace {

namespace fs = std::filesystem;

constexpr const char *kServerPort = "5432";
constexpr const char *kMaxConnections = "200";
constexpr const char *kLogFileName = "evcs-server.log";
constexpr std::size_t kLogTailLines = 30;

std::string errno_text(int error_number) { return std::strerror(error_number); }

// The OS user the server processes run as. PostgreSQL refuses to run as root, so a root
// process hands the server to an unprivileged user.
struct Identity {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;
};

struct UserRecord {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

// The reentrant lookups: the application may resolve users on other threads.
std::optional<UserRecord> find_user(const char *name, uid_t uid) {
  std::vector<char> buffer(16384);
  struct passwd entry;
  struct passwd *found = nullptr;
  int status = name != nullptr ? getpwnam_r(name, &entry, buffer.data(), buffer.size(), &found)
                               : getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found);
  if (status != 0 || found == nullptr) return std::nullopt;
  return UserRecord{entry.pw_name, entry.pw_uid, entry.pw_gid,
                    entry.pw_dir != nullptr ? entry.pw_dir : ""};
}

Identity server_identity() {
  Identity identity;
  identity.uid = geteuid();
  identity.gid = getegid();
  if (identity.uid != 0) {
    std::optional<UserRecord> self = find_user(nullptr, identity.uid);
    identity.name = self ? self->name : std::to_string(identity.uid);
    return identity;
  }
  for (const char *candidate : {"postgres", "nobody"}) {
    std::optional<UserRecord> user = find_user(candidate, 0);
    if (!user) continue;
    identity.switch_user = true;
    identity.uid = user->uid;
    identity.gid = user->gid;
    identity.name = candidate;
    int count = 64;
    identity.groups.resize(static_cast<std::size_t>(count));
    if (getgrouplist(candidate, user->gid, identity.groups.data(), &count) < 0) {
      identity.groups.resize(static_cast<std::size_t>(count));
      getgrouplist(candidate, user->gid, identity.groups.data(), &count);
    }
    identity.groups.resize(static_cast<std::size_t>(count));
    return identity;
  }
  throw Error(ErrorCode::error,
              "the process runs as root and PostgreSQL refuses to run as root, but neither a "
              "'postgres' nor a 'nobody' user exists: create a 'postgres' system user, run as an "
              "ordinary user, or set DATABASE_URL to use an existing server");
}

// Everything a forked child needs, prepared before fork(): between fork and exec the child may
// only make async-signal-safe calls because other threads may hold locks (malloc's included).
struct ChildSetup {
  std::vector<char *> argv;
  const Identity *identity = nullptr;
  int stdin_fd = -1;
  int output_fd = -1;
  bool new_session = false;
  long max_fd = 1024;
};

void write_to_stderr(const char *text) {
  ssize_t ignored = write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

[[noreturn]] void exec_child(const ChildSetup &setup) {
  sigset_t nothing_blocked;
  sigemptyset(&nothing_blocked);
  sigprocmask(SIG_SETMASK, &nothing_blocked, nullptr);
  // Its own session: a Ctrl-C aimed at the application's process group must not kill helpers.
  if (setup.new_session) setsid();
  if (dup2(setup.stdin_fd, STDIN_FILENO) < 0 || dup2(setup.output_fd, STDOUT_FILENO) < 0 ||
      dup2(setup.output_fd, STDERR_FILENO) < 0)
    _exit(127);
  // Descriptors the application opened without O_CLOEXEC must not leak into a long-lived
  // postmaster (a leaked watchdog pipe end would disable the watchdog).
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
    for (long fd = 3; fd < setup.max_fd; ++fd) close(static_cast<int>(fd));
  const Identity &identity = *setup.identity;
  if (identity.switch_user &&
      (setgroups(identity.groups.size(), identity.groups.data()) != 0 ||
       setgid(identity.gid) != 0 || setuid(identity.uid) != 0)) {
    write_to_stderr("evcs: cannot switch to the server's user\n");
    _exit(126);
  }
  // The caller's working directory (e.g. /root) may be unreachable for the server's user.
  if (chdir("/") != 0) _exit(126);
  execv(setup.argv[0], setup.argv.data());
  write_to_stderr("evcs: cannot execute ");
  write_to_stderr(setup.argv[0]);
  write_to_stderr("\n");
  _exit(127);
}

class FileDescriptor {
public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(FileDescriptor &&other) noexcept : fd_(other.release()) {}
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

FileDescriptor open_dev_null() {
  FileDescriptor fd(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (fd.get() < 0)
    throw Error(ErrorCode::error, "cannot open /dev/null: " + errno_text(errno));
  return fd;
}

pid_t spawn(const std::vector<std::string> &argv, const Identity &identity, int stdin_fd,
            int output_fd, bool new_session) {
  ChildSetup setup;
  for (const std::string &argument : argv) setup.argv.push_back(const_cast<char *>(argument.c_str()));
  setup.argv.push_back(nullptr);
  setup.identity = &identity;
  setup.stdin_fd = stdin_fd;
  setup.output_fd = output_fd;
  setup.new_session = new_session;
  setup.max_fd = sysconf(_SC_OPEN_MAX);
  pid_t pid = fork();
  if (pid < 0) throw Error(ErrorCode::error, "cannot start " + argv[0] + ": " + errno_text(errno));
  if (pid == 0) exec_child(setup);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

struct ProcessOutcome {
  int status = -1;
  std::string output;
  bool succeeded() const { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

std::string command_line(const std::vector<std::string> &argv) {
  std::string line;
  for (const std::string &argument : argv) line += (line.empty() ? "" : " ") + argument;
  return line;
}

// Runs a program to completion and captures its output. The output goes to an unlinked file,
// not a pipe: `pg_ctl start` leaves a postmaster behind, and a pipe would stay open as long as
// any descendant holds it.
ProcessOutcome run(const std::vector<std::string> &argv, const Identity &identity) {
  char output_path[] = "/tmp/evcs-output-XXXXXX";
  FileDescriptor output(mkostemp(output_path, O_CLOEXEC));
  if (output.get() < 0)
    throw Error(ErrorCode::error, "cannot create a temporary file in /tmp for the output of " +
                                      argv[0] + ": " + errno_text(errno));
  unlink(output_path);
  FileDescriptor input = open_dev_null();
  ProcessOutcome outcome;
  outcome.status = wait_for(spawn(argv, identity, input.get(), output.get(), false));
  if (lseek(output.get(), 0, SEEK_SET) == 0) {
    char buffer[4096];
    ssize_t count;
    while ((count = read(output.get(), buffer, sizeof buffer)) > 0)
      outcome.output.append(buffer, static_cast<std::size_t>(count));
  }
  return outcome;
}

std::string describe_failure(const std::vector<std::string> &argv, const ProcessOutcome &outcome) {
  std::string text = "`" + command_line(argv) + "` failed";
  if (outcome.status >= 0 && WIFEXITED(outcome.status))
    text += " with exit status " + std::to_string(WEXITSTATUS(outcome.status));
  else if (outcome.status >= 0 && WIFSIGNALED(outcome.status))
    text += " with signal " + std::to_string(WTERMSIG(outcome.status));
  std::size_t end = outcome.output.find_last_not_of(" \n");
  if (end != std::string::npos) text += ":\n" + outcome.output.substr(0, end + 1);
  return text;
}

std::string tail_of_file(const fs::path &path, std::size_t line_count) {
  std::ifstream file(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(file, line)) {
    lines.push_back(line);
    if (lines.size() > line_count) lines.pop_front();
  }
  std::string text;
  for (const std::string &kept : lines) text += kept + "\n";
  return text;
}

std::string read_first_line(const fs::path &path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

bool is_executable(const fs::path &path) { return access(path.c_str(), X_OK) == 0; }

std::string environment(const char *name) {
  const char *value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The leading number of a version ("15" from "15.8"); PostgreSQL ≥ 10 numbers majors so.
std::string major_of(const std::string &version) {
  std::size_t end = version.find_first_not_of("0123456789");
  return version.substr(0, end);
}

// PostgreSQL's binaries: EVCS_PG_BINDIR, else the Debian/Ubuntu layout (preferring the major
// version a reused data directory was made with, else the newest), else initdb on PATH.
// `pg_config --bindir` is not used: on Debian it belongs to the client package and can point
// at a directory without a server.
// EVCS_PG_BINDIR when it is set, each of `programs` checked to be an executable in it.
std::optional<fs::path> bin_dir_from_environment(const std::vector<std::string> &programs) {
  std::string from_environment = environment("EVCS_PG_BINDIR");
  if (from_environment.empty()) return std::nullopt;
  fs::path dir = from_environment;
  std::string listed;
  for (std::size_t at = 0; at < programs.size(); ++at)
    listed += (at == 0 ? "" : at + 1 == programs.size() ? " and " : ", ") + programs[at];
  for (const auto &program : programs)
    if (!is_executable(dir / program))
      throw Error(ErrorCode::error, "EVCS_PG_BINDIR is '" + from_environment + "' but " +
                                        (dir / program).string() +
                                        " is not an executable: point EVCS_PG_BINDIR at the "
                                        "directory holding " + listed);
  return dir;
}

fs::path find_bin_dir(const std::string &preferred_major) {
  if (std::optional<fs::path> dir = bin_dir_from_environment({"initdb", "pg_ctl", "postgres"}))
    return *dir;
  std::vector<std::pair<long, fs::path>> installed;
  std::error_code ignored;
  for (const fs::directory_entry &entry : fs::directory_iterator("/usr/lib/postgresql", ignored)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || major_of(name) != name) continue;
    fs::path bin = entry.path() / "bin";
    if (is_executable(bin / "initdb") && is_executable(bin / "pg_ctl"))
      installed.emplace_back(std::stol(name), bin);
  }
  for (const auto &[major, bin] : installed)
    if (std::to_string(major) == preferred_major) return bin;
  if (!installed.empty()) return std::max_element(installed.begin(), installed.end())->second;
  std::stringstream path_list(environment("PATH"));
  std::string dir;
  while (std::getline(path_list, dir, ':'))
    if (!dir.empty() && is_executable(fs::path(dir) / "initdb") &&
        is_executable(fs::path(dir) / "pg_ctl"))
      return dir;
  throw Error(ErrorCode::error,
              "no PostgreSQL server binaries found (looked for /usr/lib/postgresql/*/bin/initdb "
              "and initdb on PATH): install the server (e.g. `apt-get install postgresql-15`), "
              "set EVCS_PG_BINDIR to the directory holding initdb and pg_ctl, or set DATABASE_URL "
              "to use an existing server");
}

std::string server_major_version(const fs::path &bin_dir, const Identity &identity) {
  std::vector<std::string> argv{(bin_dir / "postgres").string(), "-V"};
  ProcessOutcome outcome = run(argv, identity);
  // "postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)"
  std::size_t digits = outcome.output.find_first_of("0123456789");
  if (!outcome.succeeded() || digits == std::string::npos)
    throw Error(ErrorCode::error, "cannot tell the PostgreSQL version in " + bin_dir.string() +
                                      ": " + describe_failure(argv, outcome) +
                                      "; set EVCS_PG_BINDIR to a working installation");
  return major_of(outcome.output.substr(digits));
}

// pg_ctl hands the data directory to `sh -c` inside double quotes, so these characters would
// be interpreted by the shell.
void check_shell_safe(const std::string &path) {
  if (path.find_first_of("\"$`\\\n") != std::string::npos)
    throw InvalidArgument("the data directory '" + path +
                          "' contains one of \" $ ` \\ or a newline, which pg_ctl cannot pass "
                          "safely: choose a plainer path");
}

void hand_to_server_user(const fs::path &dir, const Identity &identity) {
  if (identity.switch_user && chown(dir.c_str(), identity.uid, identity.gid) != 0)
    throw Error(ErrorCode::error, "cannot give " + dir.string() + " to the server's user '" +
                                      identity.name + "': " + errno_text(errno));
  if (chmod(dir.c_str(), 0700) != 0)
    throw Error(ErrorCode::error, "cannot restrict the permissions of " + dir.string() + ": " +
                                      errno_text(errno));
}

// Creates `dir` (and missing parents) and returns whether it was missing. A directory this
// code creates is handed to the server's user, which must own what it writes to.
bool ensure_directory(const fs::path &dir, const Identity &identity, const std::string &advice) {
  std::error_code error;
  if (fs::is_directory(dir, error)) return false;
  if (fs::exists(dir, error))
    throw InvalidArgument("'" + dir.string() + "' exists but is not a directory: " + advice);
  fs::create_directories(dir, error);
  if (error)
    throw InvalidArgument("cannot create the directory '" + dir.string() +
                          "': " + error.message() + ": " + advice);
  hand_to_server_user(dir, identity);
  return true;
}

// Where data directories go when the caller names none. A root process's server user cannot
// reach root's home, hence /var/tmp for root unless EVCS_CACHE_DIR says otherwise.
fs::path cache_dir() {
  std::string explicit_dir = environment("EVCS_CACHE_DIR");
  if (!explicit_dir.empty()) return fs::absolute(explicit_dir);
  if (geteuid() == 0) return "/var/tmp/evcs-embedded-0";
  std::string xdg = environment("XDG_CACHE_HOME");
  if (!xdg.empty()) return fs::path(xdg) / "evcs";
  std::string home = environment("HOME");
  if (home.empty()) {
    if (std::optional<UserRecord> self = find_user(nullptr, geteuid())) home = self->home;
  }
  if (!home.empty()) return fs::path(home) / ".cache" / "evcs";
  return "/var/tmp/evcs-embedded-" + std::to_string(geteuid());
}

// A shared, world-writable parent like /var/tmp lets another user plant the cache directory
// first; refuse one that is not ours or the server's.
void check_cache_dir_owner(const fs::path &dir, const Identity &identity) {
  struct stat status;
  if (lstat(dir.c_str(), &status) != 0) return;
  if (!S_ISDIR(status.st_mode) || (status.st_uid != geteuid() && status.st_uid != identity.uid))
    throw Error(ErrorCode::error, "the cache directory " + dir.string() +
                                      " is not a directory owned by this user or by '" +
                                      identity.name + "': remove it, or set EVCS_CACHE_DIR to "
                                      "another directory");
}

std::string make_unique_dir(const fs::path &pattern_path) {
  std::string pattern = pattern_path.string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw Error(ErrorCode::error, "cannot create a directory like " + pattern_path.string() +
                                      ": " + errno_text(errno));
  return pattern;
}

// libpq URLs take the socket directory as a query value: escape anything beyond a plain path.
std::string url_escape(const std::string &text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string escaped;
  for (unsigned char c : text) {
    if (std::isalnum(c) || std::strchr("/-._~", c) != nullptr) {
      escaped += static_cast<char>(c);
    } else {
      escaped += '%';
      escaped += hex[c >> 4];
      escaped += hex[c & 15];
    }
  }
  return escaped;
}

std::string server_url(const std::string &socket_dir, const std::string &port) {
  // The port is explicit so a PGPORT in the environment cannot redirect the connection.
  return "postgresql:///postgres?host=" + url_escape(socket_dir) + "&port=" + port +
         "&user=postgres";
}

bool process_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

// Seconds since the epoch at which process `pid` started, or nullopt where /proc cannot say.
std::optional<long long> process_start_time(pid_t pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat_line;
  std::getline(stat_file, stat_line);
  // The command name may contain spaces and parentheses: fields are counted after the last ')'.
  std::size_t name_end = stat_line.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(stat_line.substr(name_end + 1));
  std::string field;
  long long start_ticks = -1;
  for (int index = 3; index <= 22 && fields >> field; ++index)
    if (index == 22) start_ticks = std::atoll(field.c_str());
  std::ifstream system_stat("/proc/stat");
  std::string line;
  long long boot_time = -1;
  while (std::getline(system_stat, line))
    if (line.rfind("btime ", 0) == 0) boot_time = std::atoll(line.c_str() + 6);
  long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (start_ticks < 0 || boot_time < 0 || ticks_per_second <= 0) return std::nullopt;
  return boot_time + start_ticks / ticks_per_second;
}

// A postmaster.pid left by a crash can name a pid the system has since given to another
// process (common after a reboot), even to another PostgreSQL server's process. The postmaster
// records its start time in the file, so a process that started at another time is not it.
bool is_recorded_postmaster(pid_t pid, const std::string &recorded_start) {
  if (!process_alive(pid)) return false;
  std::optional<long long> started = process_start_time(pid);
  if (started && !recorded_start.empty())
    return std::llabs(*started - std::atoll(recorded_start.c_str())) <= 2;
  std::string name = read_first_line("/proc/" + std::to_string(pid) + "/comm");
  return name.empty() || name.rfind("postgres", 0) == 0 || name.rfind("postmaster", 0) == 0;
}

struct RunningServer {
  std::string socket_dir;
  std::string port;
};

// The server another process runs on `data_dir`, if any (postmaster.pid lines: pid, data dir,
// start time, port, first socket directory, ...).
std::optional<RunningServer> running_server(const fs::path &data_dir) {
  fs::path pid_file = data_dir / "postmaster.pid";
  std::ifstream file(pid_file);
  if (!file) return std::nullopt;
  std::vector<std::string> lines;
  std::string line;
  while (lines.size() < 5 && std::getline(file, line)) lines.push_back(line);
  pid_t pid = lines.empty() ? 0 : static_cast<pid_t>(std::atol(lines[0].c_str()));
  if (!process_alive(pid)) return std::nullopt;
  if (!is_recorded_postmaster(pid, lines.size() >= 3 ? lines[2] : std::string())) {
    // The server is certainly gone; PostgreSQL would refuse to start while the file names a
    // live process.
    std::error_code ignored;
    fs::remove(pid_file, ignored);
    return std::nullopt;
  }
  RunningServer server;
  if (lines.size() >= 5) {
    server.port = lines[3];
    server.socket_dir = lines[4];
  }
  if (server.socket_dir.empty() || server.port.empty())
    throw Error(ErrorCode::error, "a PostgreSQL server (pid " + std::to_string(pid) + ") runs on " +
                                      data_dir.string() + " without a Unix socket evcs can use: "
                                      "stop it with `pg_ctl stop -D " + data_dir.string() + "`");
  std::string url = server_url(server.socket_dir, server.port);
  if (PQping(url.c_str()) != PQPING_OK)
    throw Error(ErrorCode::error, "a PostgreSQL server (pid " + std::to_string(pid) + ") holds " +
                                      data_dir.string() + " but does not accept connections on " +
                                      server.socket_dir + ": wait until it has started, or "
                                      "stop it with `pg_ctl stop -D " + data_dir.string() +
                                      " -m fast` and try again");
  return server;
}

std::string initdb_locale() {
  locale_t utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  if (utf8 == static_cast<locale_t>(nullptr)) return "C";
  freelocale(utf8);
  return "C.UTF-8";
}

// Stops the server on `data_dir`; reports nothing because its callers are already failing or
// tearing down, and the directories are removed after it either way.
void stop_server(const fs::path &bin_dir, const std::string &data_dir,
                 const Identity &identity) noexcept {
  try {
    std::string pg_ctl = (bin_dir / "pg_ctl").string();
    if (!run({pg_ctl, "stop", "-D", data_dir, "-m", "fast", "-w"}, identity).succeeded())
      run({pg_ctl, "stop", "-D", data_dir, "-m", "immediate", "-w"}, identity);
  } catch (...) {
  }
}

void remove_tree(const std::string &dir) {
  if (dir.empty()) return;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
}

struct Registry {
  std::mutex mutex;
  std::unique_ptr<EmbeddedServer> server;
  std::size_t users = 0;
  bool exit_hooks_registered = false;
};

// Never destroyed: the exit hook and late releases from static destructors must still find it.
Registry &registry() {
  static Registry *instance = new Registry;
  return *instance;
}

void stop_at_exit() {
  Registry &state = registry();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.server.reset();
  state.users = 0;
}

void release_user(EmbeddedServer *) {
  Registry &state = registry();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.users == 0) return; // already stopped at exit
  if (--state.users == 0) state.server.reset();
}

fs::path normalized_data_dir(const std::string &data_dir) {
  fs::path normalized = fs::absolute(data_dir).lexically_normal();
  return normalized.has_filename() ? normalized : normalized.parent_path();
}

void check_joinable(const EmbeddedServer &running, const EmbeddedOptions &options) {
  if (!options.data_dir.empty() && normalized_data_dir(options.data_dir) != running.data_dir())
    throw InvalidArgument("this process's embedded server already runs on " + running.data_dir() +
                          "; a process has one embedded server: release every handle to it "
                          "first, or pass the same data_dir");
  if (options.persist && !running.persist())
    throw InvalidArgument("this process's embedded server already runs without persist on " +
                          running.data_dir() + " and will delete it at stop: release every "
                          "handle to it first, then acquire with persist");
}

} // namespace

namespace detail {

std::string postgres_program(const std::string &program, const std::string &major) {
  if (std::optional<fs::path> dir = bin_dir_from_environment({program}))
    return (*dir / program).string();
  fs::path path = fs::path("/usr/lib/postgresql") / major / "bin" / program;
  if (is_executable(path)) return path.string();
  throw Error(ErrorCode::error, program + " for PostgreSQL " + major + " (the server's version) "
                                "was not found at " + path.string() + ": install "
                                "postgresql-client-" + major + " or set EVCS_PG_BINDIR");
}

} // namespace detail

std::shared_ptr<EmbeddedServer> EmbeddedServer::acquire(const EmbeddedOptions &options) {
  Registry &state = registry();
  EmbeddedServer *server = nullptr;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (state.server) {
      check_joinable(*state.server, options);
    } else {
      state.server = std::make_unique<EmbeddedServer>(Private{}, options);
      if (!state.exit_hooks_registered) {
        std::atexit(stop_at_exit);
        std::at_quick_exit(stop_at_exit);
        state.exit_hooks_registered = true;
      }
    }
    ++state.users;
    server = state.server.get();
  }
  // Built outside the lock: if allocating the control block fails, the deleter runs and
  // takes the lock itself.
  return std::shared_ptr<EmbeddedServer>(server, release_user);
}

EmbeddedServer::EmbeddedServer(Private, const EmbeddedOptions &options)
    : persist_(options.persist), owner_pid_(static_cast<int>(getpid())) {
  Identity identity = server_identity();
  run_as_user_ = identity.name;

  fs::path data_dir;
  std::string data_version;
  if (!options.data_dir.empty()) {
    data_dir = normalized_data_dir(options.data_dir);
    data_version = read_first_line(data_dir / "PG_VERSION");
  }
  fs::path bin_dir = find_bin_dir(data_version);
  bin_dir_ = bin_dir.string();
  std::string major = server_major_version(bin_dir, identity);

  bool created_data_dir = false;
  if (data_dir.empty()) {
    fs::path cache = cache_dir();
    if (environment("EVCS_CACHE_DIR").empty()) check_cache_dir_owner(cache, identity);
    ensure_directory(cache, identity, "set EVCS_CACHE_DIR to a directory you can write to");
    if (persist_) {
      data_dir = cache / ("data-" + major);
      data_version = read_first_line(data_dir / "PG_VERSION");
    } else {
      data_dir = make_unique_dir(cache / "tmp-XXXXXX");
      created_data_dir = true;
    }
  }
  data_dir_ = data_dir.string();
  check_shell_safe(data_dir_);

  if (!data_version.empty()) {
    if (!persist_)
      throw InvalidArgument(data_dir_ + " already holds a PostgreSQL cluster and a server "
                            "without persist deletes its data directory at stop: pass "
                            "persist=true to reuse it, or choose an empty data_dir");
    if (data_version != major)
      throw Error(ErrorCode::error,
                  data_dir_ + " was created by PostgreSQL " + data_version + " but the binaries in " +
                      bin_dir_ + " are PostgreSQL " + major + ": set EVCS_PG_BINDIR to the " +
                      data_version + " binaries, or upgrade the directory with pg_upgrade");
    if (std::optional<RunningServer> running = running_server(data_dir)) {
      socket_dir_ = running->socket_dir;
      url_ = server_url(running->socket_dir, running->port);
      return;
    }
  }

  try {
    if (data_version.empty()) {
      if (!created_data_dir)
        created_data_dir = ensure_directory(
            data_dir, identity, "pass a data_dir in a directory you can write to");
      // initdb runs as the server's user and must own the (empty) directory it fills; a
      // directory with content is left as it is for initdb to refuse.
      std::error_code not_listable;
      if (fs::is_empty(data_dir, not_listable)) hand_to_server_user(data_dir, identity);
      std::vector<std::string> initdb{(bin_dir / "initdb").string(),
                                      "-D",
                                      data_dir_,
                                      "--no-sync",
                                      "-A",
                                      "trust",
                                      "-U",
                                      "postgres",
                                      "-E",
                                      "UTF8",
                                      "--locale=" + initdb_locale()};
      ProcessOutcome outcome = run(initdb, identity);
      if (!outcome.succeeded()) {
        std::string hint =
            identity.switch_user
                ? "; the server runs as '" + identity.name + "', which must be able to reach " +
                      data_dir_ + " (directories under /root are not reachable)"
                : "";
        throw Error(ErrorCode::error, "cannot create the embedded PostgreSQL cluster: " +
                                          describe_failure(initdb, outcome) + hint);
      }
    }

    // A fresh short directory per start: a socket path must stay under ~100 bytes, and a
    // directory nobody else uses cannot hold a stale socket or lock file.
    socket_dir_ = make_unique_dir("/tmp/evcs-pg-XXXXXX");
    hand_to_server_user(socket_dir_, identity);
    fs::path log_file = data_dir / kLogFileName;
    std::vector<std::string> start{(bin_dir / "pg_ctl").string(),
                                   "start",
                                   "-w",
                                   "-t",
                                   "60",
                                   "-D",
                                   data_dir_,
                                   "-l",
                                   log_file.string(),
                                   "-o",
                                   std::string("-c listen_addresses='' -k ") + socket_dir_ +
                                       " -p " + kServerPort + " -c max_connections=" +
                                       kMaxConnections};
    ProcessOutcome outcome = run(start, identity);
    if (!outcome.succeeded())
      throw Error(ErrorCode::error, "cannot start the embedded PostgreSQL server: " +
                                        describe_failure(start, outcome) + "\nlast lines of " +
                                        log_file.string() + ":\n" +
                                        tail_of_file(log_file, kLogTailLines));
    started_here_ = true;
    url_ = server_url(socket_dir_, kServerPort);
    start_watchdog();
  } catch (...) {
    if (started_here_) stop_server(bin_dir, data_dir_, identity);
    remove_tree(socket_dir_);
    if (created_data_dir && !persist_) remove_tree(data_dir_);
    throw;
  }
}

// A helper in its own session that waits for the end of a pipe only this process holds:
// when this process dies in any way (SIGKILL included), the pipe closes and the helper stops
// the server and removes what a normal stop would have removed.
void EmbeddedServer::start_watchdog() {
  Identity identity = server_identity();
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0)
    throw Error(ErrorCode::error, "cannot create the embedded server's watchdog pipe: " +
                                      errno_text(errno));
  FileDescriptor read_end(ends[0]);
  FileDescriptor write_end(ends[1]);
  FileDescriptor output = open_dev_null();
  std::vector<std::string> argv{"/bin/sh", "-c",
                                "read -r line; \"$0\" stop -D \"$1\" -m fast -w; shift; "
                                "rm -rf -- \"$@\"",
                                (fs::path(bin_dir_) / "pg_ctl").string(), data_dir_, socket_dir_};
  if (!persist_) argv.push_back(data_dir_);
  watchdog_pid_ = static_cast<int>(spawn(argv, identity, read_end.get(), output.get(), true));
  watchdog_pipe_ = write_end.release();
}

void EmbeddedServer::stop_watchdog() noexcept {
  if (watchdog_pid_ > 0) {
    kill(watchdog_pid_, SIGKILL);
    wait_for(watchdog_pid_);
    watchdog_pid_ = -1;
  }
  if (watchdog_pipe_ >= 0) {
    close(watchdog_pipe_);
    watchdog_pipe_ = -1;
  }
}

EmbeddedServer::~EmbeddedServer() {
  if (static_cast<int>(getpid()) != owner_pid_ || !started_here_) return;
  stop_watchdog();
  try {
    stop_server(bin_dir_, data_dir_, server_identity());
  } catch (...) {
    // Without the server's user the server cannot be stopped; its watchdog is gone, so the
    // directories below are all that can still be cleaned.
  }
  remove_tree(socket_dir_);
  if (!persist_) remove_tree(data_dir_);
}

} // namespace evcs
