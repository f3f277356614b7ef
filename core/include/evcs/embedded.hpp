// The embedded default server (docs/embedded.md): a private PostgreSQL cluster started on demand when no
// URL and no DATABASE_URL are given, and stopped when its last user releases it.
#pragma once

#include <memory>
#include <string>

namespace evcs {

struct EmbeddedOptions {
  // Where the cluster lives; empty = a fresh directory under the cache directory.
  std::string data_dir;
  // Keep the data directory (and reuse it next time) instead of deleting it at stop.
  bool persist = false;
};

class EmbeddedServer {
public:
  // Starts the process's embedded server, or joins it if it already runs. The server stops
  // when the last shared_ptr to it is released.
  static std::shared_ptr<EmbeddedServer> acquire(const EmbeddedOptions &options = {});

  ~EmbeddedServer();
  EmbeddedServer(const EmbeddedServer &) = delete;
  EmbeddedServer &operator=(const EmbeddedServer &) = delete;

  // A libpq URL for the server's default database.
  const std::string &url() const noexcept { return url_; }
  const std::string &data_dir() const noexcept { return data_dir_; }
  bool persist() const noexcept { return persist_; }

private:
  struct Private {};

public:
  EmbeddedServer(Private, const EmbeddedOptions &options);

private:
  void start_watchdog();
  void stop_watchdog() noexcept;

  std::string url_;
  std::string data_dir_;
  std::string socket_dir_;
  std::string run_as_user_;
  std::string bin_dir_;
  bool persist_ = false;
  bool started_here_ = false;
  // A forked child inherits this object but not the server: only the owner stops it.
  int owner_pid_ = 0;
  // The helper process that stops the server if this process dies without releasing it.
  int watchdog_pid_ = -1;
  int watchdog_pipe_ = -1;
};

} // namespace evcs
