#include "providers/epoch_record.h"

#include <algorithm>

#include "engine/cluster_epoch.h"

namespace replplan {

Result<int64_t> RecordEpoch(SessionFactory& sessions, const ServerSpec& new_primary, int64_t at_least,
                            const std::string& kind, const std::string& by) {
  // Bounded: with semi-sync on and no replica connected yet, the INSERT waits for an ACK (up to
  // semi_sync_timeout_ms); it is in the binlog already and commits without us.
  SessionLimits limits;
  limits.sql_read_timeout_ms = 2000;
  limits.sql_write_timeout_ms = 2000;
  limits.fresh = true;
  std::unique_ptr<ServerSession> sql = sessions.Open(new_primary, limits);
  if (Status connected = sql->ConnectSql(); !connected.ok()) return connected;

  // Its own newest, in case it knows a later epoch than the state the plan was made from.
  int64_t epoch = std::max<int64_t>(at_least, 1);
  auto newest = sql->Query(ReadLatestEpochSql());
  if (newest.ok() && !newest->empty()) {
    if (auto row = ParseEpochRow(newest->front())) epoch = std::max(epoch, row->epoch + 1);
  }
  EpochRecord record;
  record.epoch = epoch;
  record.primary = new_primary.name;
  record.kind = kind;
  record.promoted_by = by;
  for (const std::string& statement : RecordEpochStatements(record)) {
    Status s = sql->Execute(statement, {}, "recording epoch " + std::to_string(epoch));
    if (!s.ok()) return s;
  }
  return epoch;
}

}  // namespace replplan
