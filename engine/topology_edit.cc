#include "engine/topology_edit.h"

#include <toml++/toml.h>

#include "engine/topology_parser.h"

namespace replplan {
namespace {

// Byte offset of toml++'s 1-based line and column. toml++ counts columns in code points, not
// bytes (and does not count a UTF-8 byte order mark at the start of the file), so the column is
// walked code point by code point: an inline table such as `cluster = { name = "café", primary =
// "x" }` puts non-ASCII text before the value on its own line. npos when the position is not in
// the text. The input has passed ParseTopology, so it is valid UTF-8.
size_t OffsetOf(std::string_view text, int line, int column) {
  size_t offset = 0;
  for (int l = 1; l < line && offset != std::string_view::npos; ++l) {
    offset = text.find('\n', offset);
    if (offset != std::string_view::npos) ++offset;
  }
  if (offset == std::string_view::npos || line < 1 || column < 1) return std::string_view::npos;
  if (offset == 0 && text.starts_with("\xEF\xBB\xBF")) offset = 3;
  for (int c = 1; c < column; ++c) {
    if (offset >= text.size() || text[offset] == '\n') return std::string_view::npos;
    ++offset;
    while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) ++offset;
  }
  return offset;
}

}  // namespace

Result<std::string> SetPrimaryInTopology(std::string_view toml_text, const std::string& file_name,
                                         const std::string& new_primary) {
  TopologyParse before = ParseTopology(toml_text, file_name);
  if (!before.ok()) return Status::InvalidArgument(file_name + " does not validate: " + before.errors.front().ToString());
  if (before.topology.FindServer(new_primary) == nullptr) {
    return Status::InvalidArgument("'" + new_primary + "' is not a server declared in " + file_name);
  }

  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(file_name + ": " + std::string(e.description()));
  }
  const toml::node* value = root.at_path("cluster.primary").node();
  if (value == nullptr || !value->is_string()) return Status::InvalidArgument(file_name + ": no [cluster] primary");
  const toml::source_region& where = value->source();
  size_t begin = OffsetOf(toml_text, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column));
  size_t end = OffsetOf(toml_text, static_cast<int>(where.end.line), static_cast<int>(where.end.column));
  if (begin == std::string_view::npos || end == std::string_view::npos || end <= begin || end > toml_text.size() ||
      (toml_text[begin] != '"' && toml_text[begin] != '\'') || toml_text[end - 1] != toml_text[begin]) {
    return Status::Internal(file_name + ": cannot locate the primary's value to rewrite it");
  }
  // Server names are plain ([A-Za-z0-9_.-], enforced by validation), so no escaping is needed and
  // the original quote style can be kept.
  const char quote = toml_text[begin];
  std::string edited(toml_text.substr(0, begin));
  edited += quote;
  edited += new_primary;
  edited += quote;
  edited += toml_text.substr(end);

  TopologyParse after = ParseTopology(edited, file_name);
  if (!after.ok() || after.topology.cluster.primary != new_primary) {
    return Status::Internal(file_name + ": rewriting primary produced an invalid file");
  }
  return edited;
}

Result<std::string> SetEpochInTopology(std::string_view toml_text, const std::string& file_name, int64_t epoch) {
  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(file_name + ": " + std::string(e.description()));
  }
  const std::string number = std::to_string(epoch);
  std::string edited;
  if (const toml::node* value = root.at_path("cluster.epoch").node()) {
    // An integer's characters are ASCII, and so is everything before it on its line in a file this
    // edits (checked: the span must read as the old number).
    const toml::source_region& where = value->source();
    size_t begin = OffsetOf(toml_text, static_cast<int>(where.begin.line), static_cast<int>(where.begin.column));
    size_t end = OffsetOf(toml_text, static_cast<int>(where.end.line), static_cast<int>(where.end.column));
    if (!value->is_integer() || begin == std::string_view::npos || end == std::string_view::npos || end <= begin ||
        end > toml_text.size() || toml_text.substr(begin, end - begin) != std::to_string(value->as_integer()->get())) {
      return Status::Internal(file_name + ": cannot locate the epoch's value to rewrite it");
    }
    edited = std::string(toml_text.substr(0, begin)) + number + std::string(toml_text.substr(end));
  } else {
    const toml::node* primary = root.at_path("cluster.primary").node();
    if (primary == nullptr) return Status::InvalidArgument(file_name + ": no [cluster] primary");
    const toml::source_region& where = primary->source();
    size_t line_start = OffsetOf(toml_text, static_cast<int>(where.begin.line), 1);
    size_t value_end = OffsetOf(toml_text, static_cast<int>(where.end.line), static_cast<int>(where.end.column));
    if (line_start == std::string_view::npos || value_end == std::string_view::npos || value_end > toml_text.size()) {
      return Status::Internal(file_name + ": cannot locate the primary's line");
    }
    size_t newline = toml_text.find('\n', value_end);
    size_t insert_at = newline == std::string_view::npos ? toml_text.size() : newline + 1;
    size_t indent_end = toml_text.find_first_not_of(" \t", line_start);
    std::string indent(toml_text.substr(line_start, indent_end - line_start));
    bool crlf = newline != std::string_view::npos && newline > 0 && toml_text[newline - 1] == '\r';
    std::string line = indent + "epoch = " + number + (crlf ? "\r\n" : "\n");
    edited = std::string(toml_text.substr(0, insert_at));
    if (newline == std::string_view::npos) edited += crlf ? "\r\n" : "\n";
    edited += line + std::string(toml_text.substr(insert_at));
  }
  TopologyParse after = ParseTopology(edited, file_name);
  if (!after.ok() || after.topology.cluster.epoch != epoch) {
    return Status::Internal(file_name + ": rewriting epoch produced an invalid file");
  }
  return edited;
}

}  // namespace replplan
