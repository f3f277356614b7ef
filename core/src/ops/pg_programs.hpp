// Where PostgreSQL's own programs are found (src/embedded.cpp): the embedded server's initdb and
// pg_ctl, and backup's pg_dump and pg_restore, under one rule.
#pragma once

#include <string>

namespace evcs::detail {

// The path of PostgreSQL program `program` for a server of major version `major`:
// $EVCS_PG_BINDIR/<program> when EVCS_PG_BINDIR is set, else Debian's
// /usr/lib/postgresql/<major>/bin/<program>. Error (naming where it looked) when it is not an
// executable there.
std::string postgres_program(const std::string &program, const std::string &major);

} // namespace evcs::detail
