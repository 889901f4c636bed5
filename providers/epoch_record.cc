#include "providers/epoch_record.h"

#include <algorithm>
#include <charconv>

#include "engine/cluster_epoch.h"
#include "engine/sql_quote.h"
#include "providers/connect_options.h"
#include "providers/mysql/mysql_connection.h"

namespace replplan {

Result<int64_t> RecordEpoch(const ServerSpec& new_primary, int64_t at_least, const std::string& kind,
                            const std::string& by) {
  auto options = MysqlOptionsFor(new_primary);
  if (!options.ok()) return options.status().WithContext(new_primary.name);
  // Bounded: with semi-sync on and no replica connected yet, the INSERT waits for an ACK (up to
  // semi_sync_timeout_ms); it is in the binlog already and commits without us.
  options->read_timeout_ms = 2000;
  options->write_timeout_ms = 2000;
  auto connection = MysqlConnection::Connect(*options);
  if (!connection.ok()) return connection.status().WithContext(new_primary.name);
  MysqlConnection& sql = **connection;

  // Its own newest, in case it knows a later epoch than the state the plan was made from.
  int64_t epoch = std::max<int64_t>(at_least, 1);
  auto newest = sql.Query(ReadLatestEpochSql());
  if (newest.ok() && !newest->empty()) {
    if (auto row = ParseEpochRow(newest->front())) epoch = std::max(epoch, row->epoch + 1);
  }
  EpochRecord record;
  record.epoch = epoch;
  record.primary = new_primary.name;
  record.kind = kind;
  record.promoted_by = by;
  for (const std::string& statement : RecordEpochStatements(record)) {
    Status s = sql.Execute(statement);
    if (!s.ok()) return s.WithContext("recording epoch " + std::to_string(epoch) + " on " + new_primary.name);
  }
  return epoch;
}

}  // namespace replplan
