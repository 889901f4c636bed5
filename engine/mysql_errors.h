// MariaDB server and client error numbers replplan acts on, named once. A server's error reaches
// replplan as a number (mysql_errno, kept as Status::sql_errno; Last_IO_Errno in SHOW SLAVE
// STATUS); code compares numbers, never message text. Server errors are < 2000 (ER_*), client
// library errors 2000-2999 (CR_*).
#pragma once

namespace replplan {

// Server errors (ER_*).
constexpr int kErrKeyNotFound = 1032;             // ER_KEY_NOT_FOUND: a row event's row is not there
constexpr int kErrAccessDenied = 1045;            // ER_ACCESS_DENIED_ERROR
constexpr int kErrNoSuchThread = 1094;            // ER_NO_SUCH_THREAD: KILL of a connection id that has ended
constexpr int kErrDuplicateKey = 1062;            // ER_DUP_ENTRY: a row event's row is there already
constexpr int kErrNoMatchingUserRow = 1133;       // ER_PASSWORD_NO_MATCH: GRANT/SET PASSWORD for a missing account
constexpr int kErrMasterInfo = 1201;              // ER_MASTER_INFO: a replica with no source configured
constexpr int kErrBinlogGone = 1236;              // ER_MASTER_FATAL_ERROR_READING_BINLOG: purged binlog
constexpr int kErrCannotUser = 1396;              // ER_CANNOT_USER: CREATE/DROP USER ... failed
constexpr int kErrServerIdClash = 1593;           // ER_SLAVE_FATAL_ERROR: equal server_ids (and other fatal errors)
constexpr int kErrAccessDeniedNoPassword = 1698;  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR (unix_socket over TCP)

// Client library errors (CR_*).
constexpr int kErrConnLocal = 2002;     // CR_CONNECTION_ERROR: also TCP to an address nobody listens on
constexpr int kErrConnRefused = 2003;   // CR_CONN_HOST_ERROR
constexpr int kErrUnknownHost = 2005;   // CR_UNKNOWN_HOST
constexpr int kErrServerGone = 2006;    // CR_SERVER_GONE_ERROR
constexpr int kErrServerLost = 2013;    // CR_SERVER_LOST

}  // namespace replplan
