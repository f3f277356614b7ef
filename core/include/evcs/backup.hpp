// Backup and verified restore (docs/backup.md): a pg_dump custom-format archive plus a manifest of row
// counts and checksums taken in the same snapshot, and a restore that checks them.
//
// backup_database writes ARCHIVE (pg_dump -Fc) and ARCHIVE.manifest.json. The manifest lists
// every version table (a name ending in "_version") and every evcs catalog table (a name
// starting with "evcs_") with its row count and an md5 over its rows in a fixed order; it is
// computed in a REPEATABLE READ transaction whose snapshot pg_dump shares (--snapshot), so it
// describes exactly the archived data. pg_dump and pg_restore are the ones of the server's major
// version (/usr/lib/postgresql/N/bin), run without a shell.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace evcs {

struct TableChecksum {
  // Schema-qualified and quoted as needed, e.g. public.project_version.
  std::string table;
  std::int64_t rows = 0;
  // md5 over the md5 of each row's text form, ordered bytewise.
  std::string md5;
};

struct BackupManifest {
  std::string archive;
  int server_version_num = 0;
  std::vector<TableChecksum> tables;
};

// ARCHIVE.manifest.json
std::string backup_manifest_path(const std::string &archive);

// Dumps the database at `url` into `archive` (overwritten) and writes its manifest. Throws Error
// with pg_dump's own message when it fails.
BackupManifest backup_database(const std::string &url, const std::string &archive);

// Restores `archive` into the database at `target_url`, which must exist and be empty
// (InvalidArgument otherwise), in one transaction, then verifies it (verify_restore).
BackupManifest restore_database(const std::string &archive, const std::string &target_url);

// Recomputes every table of the archive's manifest in the database at `target_url`; throws
// Error naming the first table whose row count or checksum differs, or that is missing.
BackupManifest verify_restore(const std::string &archive, const std::string &target_url);

} // namespace evcs
