// SetPrimaryInTopology, the edit `switchover` and `failover` make to the reviewed file, on every
// text ParseTopology accepts, towards each declared server. Properties:
//   - it succeeds: the file validates and the new primary is declared, so refusing would leave a
//     failover half done (the servers moved, the file still naming the old primary);
//   - the result parses, names the new primary, and is otherwise the same model (every other
//     value and every recorded line and column, compared whole);
//   - bytes: the same number of lines, and every line but the primary's is unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/topology_edit.h"
#include "engine/topology_parser.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/topology_dump.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using replplan::fuzz::Escaped;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr char kFile[] = "fuzz.toml";
  const replplan::TopologyParse parse = replplan::ParseTopology(text, kFile);
  if (!parse.ok()) return 0;
  const std::string before = replplan::fuzz::Dump(parse.topology, /*with_primary=*/false);
  const std::vector<std::string_view> old_lines = replplan::fuzz::Lines(text);

  size_t tried = 0;
  for (const replplan::ServerSpec& server : parse.topology.servers) {
    if (++tried > 8) break;
    replplan::Result<std::string> edited = replplan::SetPrimaryInTopology(text, kFile, server.name);
    FUZZ_CHECK(edited.ok(), "SetPrimaryInTopology(" + server.name + ") refused a valid file: " +
                                edited.status().message() + "\ntext: " + Escaped(text));
    const replplan::TopologyParse after = replplan::ParseTopology(*edited, kFile);
    FUZZ_CHECK(after.ok(), "the rewrite does not parse: " + Escaped(*edited));
    FUZZ_CHECK(after.topology.cluster.primary == server.name, "primary is " + after.topology.cluster.primary);
    const std::string now = replplan::fuzz::Dump(after.topology, /*with_primary=*/false);
    FUZZ_CHECK(now == before, "the rewrite changed more than the primary:\nbefore:\n" + before + "after:\n" + now);

    const std::vector<std::string_view> new_lines = replplan::fuzz::Lines(*edited);
    FUZZ_CHECK(new_lines.size() == old_lines.size(), "line count changed: " + Escaped(*edited));
    int changed = 0;
    for (size_t i = 0; i < old_lines.size(); ++i) {
      if (old_lines[i] == new_lines[i]) continue;
      ++changed;
      FUZZ_CHECK(static_cast<int>(i) + 1 == after.topology.cluster.primary_where.line,
                 "line " + std::to_string(i + 1) + " changed: " + Escaped(new_lines[i]));
    }
    FUZZ_CHECK(changed <= 1, "more than one line changed");
  }
  return 0;
}
