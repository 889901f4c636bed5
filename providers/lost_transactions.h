// Which transactions a failover lost: those the dead primary wrote to its binlog that the new
// primary never received. The old primary's mariadbd is gone, but its host often is not (a crashed
// server process, a full disk): its binlog files are read over SSH, as MHA does to save them, with
// mariadb-binlog, and only their GTIDs are kept. Reporting only: replplan does not apply them to
// the new primary (they were never acknowledged to a client when semi_sync is on, and applying
// them is a decision for the operator, who now has their exact GTIDs).
#pragma once

#include <string>

#include "engine/topology.h"
#include "providers/server_session.h"

namespace replplan {

struct LostTransactions {
  bool known = false;        // the binlog could be read
  std::string why_unknown;   // when !known: the reason (SSH down, no binlog...)
  std::string old_position;  // the last GTID per domain in the old primary's binlog
  std::string lost;          // ranges the new primary lacks ("0-1-130..0-1-131"), "" = none
};

// Reads the last binlog files of `old_primary` (its log_bin, on a fresh session of its own from
// `sessions` over its SSH settings, a connect timeout of at most 2 s, a minute for the read) and
// compares their GTIDs with `new_primary_position` (what the new primary holds).
LostTransactions FindLostTransactions(SessionFactory& sessions, const ServerSpec& old_primary,
                                      const std::string& new_primary_position);

}  // namespace replplan
