# shellcheck shell=bash
# Shared helpers for scripts/test, scripts/demo and scripts/pg-cluster. Source it; do not run it.
#
# Environment overrides understood here:
#   EVCS_SKIP_APT=1        never call apt-get (fail later if something is missing)
#   EVCS_BUILD_JOBS=N      parallel build jobs (default 2: the reference machine has 2 cores)

EVCS_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVCS_PYTHON=/usr/bin/python3          # never `python3` on PATH: it may not see Debian's packages
# shellcheck disable=SC2034  # used by scripts/pg-cluster
EVCS_PG_BIN=/usr/lib/postgresql/15/bin
EVCS_BUILD_JOBS="${EVCS_BUILD_JOBS:-2}"

# The Debian 12 packages the project needs (shared/ENVIRONMENT.md). Never add libpq-dev: libpqxx-dev
# pulls it, and naming it makes apt upgrade the installed PostgreSQL server and libpq mid-run.
EVCS_PACKAGES=(
  build-essential cmake ninja-build pkg-config python3-dev libgtest-dev libgmock-dev libbenchmark-dev
  libpqxx-dev pybind11-dev python3-pybind11 swig liblua5.4-dev lua5.4 lua-busted lua-dkjson nlohmann-json3-dev libboost-dev
  python3-pytest python3-nbclient python3-ipykernel python3-nbformat python3-pandas python3-matplotlib
  python3-tqdm python3-mypy python3-asyncpg python3-sqlalchemy python3-psycopg python3-hypothesis postgresql-15 postgresql-contrib
)

evcs_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
evcs_warn() { printf 'warning: %s\n' "$*" >&2; }
evcs_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
evcs_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    evcs_die "need root to run '$*' and sudo is not installed; install the packages listed in scripts/lib.sh as root"
  fi
}

# Prints the packages of EVCS_PACKAGES that are not installed (one dpkg-query call, no network).
evcs_missing_packages() {
  local installed pkg
  installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${EVCS_PACKAGES[@]}" 2>/dev/null |
    awk '$2 == "install" && $3 == "ok" && $4 == "installed" { print $1 }' || true)"
  local -A have=()
  for pkg in $installed; do have[$pkg]=1; done
  for pkg in "${EVCS_PACKAGES[@]}"; do
    [ -n "${have[$pkg]:-}" ] || printf '%s\n' "$pkg"
  done
}

# Installs the missing packages; returns at once when everything is installed already.
evcs_install_packages() {
  if [ "${EVCS_SKIP_APT:-0}" = 1 ]; then
    evcs_log "EVCS_SKIP_APT=1: not checking packages"
    return 0
  fi
  command -v dpkg-query >/dev/null 2>&1 || evcs_die "dpkg-query not found: these scripts target Debian 12"
  local missing
  missing="$(evcs_missing_packages)"
  if [ -z "$missing" ]; then
    evcs_log "all ${#EVCS_PACKAGES[@]} packages are installed"
    return 0
  fi
  evcs_log "installing missing packages: $(echo "$missing" | tr '\n' ' ')"
  evcs_as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  # --no-upgrade: never upgrade what is installed (see the note on libpq-dev above). The whole list
  # is passed so apt resolves it in one go; installed packages are left alone.
  evcs_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade "${EVCS_PACKAGES[@]}"
  missing="$(evcs_missing_packages)"
  [ -z "$missing" ] || evcs_die "still missing after apt-get install: $(echo "$missing" | tr '\n' ' ')"
}

# Runs a long command. scripts/test redefines it to run the command in its own process group so
# that an interrupt can stop the whole tree before the test cluster is removed.
evcs_run() { "$@"; }

# evcs_build DIR TARGET [CMAKE_ARGS...]: configures DIR (Ninja, RelWithDebInfo, Debian's Python)
# and builds TARGET ("all" for everything). Returns cmake's status; does not exit.
# The scripts' builds keep line tables only (-g1 instead of -g): enough for backtraces and
# sanitizer reports, and a third less compile time on the 2-core machines CI runs on.
evcs_build() {
  local dir="$1" targets
  read -ra targets <<<"$2" # one or more target names, separated by spaces
  shift 2
  evcs_log "configuring $dir"
  evcs_run cmake -S "$EVCS_REPO_ROOT" -B "$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DPython_EXECUTABLE="$EVCS_PYTHON" \
    "$@" || return $?
  evcs_log "building $dir (${targets[*]}, -j$EVCS_BUILD_JOBS)"
  evcs_run cmake --build "$dir" --target "${targets[@]}" -j "$EVCS_BUILD_JOBS" || return $?
}

# Absolute path of a build dir given relative to the repository root (or already absolute).
evcs_abs_dir() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$EVCS_REPO_ROOT/$1" ;;
  esac
}
