// PlanFromJson on arbitrary JSON text (a saved plan: `replplan apply plan.json` runs what it says,
// and the file may have sat in a pull request or a shared directory). Properties:
//   - never an exception, never Internal (which the reader keeps for its own type-check gaps);
//   - a plan it accepts re-serialises (PlanToJson) and re-reads to the same plan;
//   - nothing is lost or invented on the way: the accepted document and the re-serialised plan are
//     the same JSON, apart from the derived "complete" and "summary" (recomputed, not read) and
//     optional strings left empty (written only when set). What apply runs is what was read.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/plan.h"
#include "fuzz/fuzz_check.h"

namespace {

using nlohmann::json;

// The document as PlanToJson would write it if nothing were lost: derived members dropped, empty
// optional strings as absent.
json Comparable(json document) {
  document.erase("complete");
  document.erase("summary");
  for (const char* optional : {"topology_digest", "created_at"}) {
    auto it = document.find(optional);
    if (it != document.end() && it->is_string() && it->get<std::string>().empty()) document.erase(it);
  }
  return document;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json document = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;

  replplan::Result<replplan::Plan> plan = replplan::PlanFromJson(document);
  if (!plan.ok()) {
    FUZZ_CHECK(plan.status().code() != replplan::Status::Code::kInternal, plan.status().message());
    FUZZ_CHECK(!plan.status().message().empty(), document.dump());
    return 0;
  }
  const json written = replplan::PlanToJson(*plan);
  replplan::Result<replplan::Plan> reread = replplan::PlanFromJson(written);
  FUZZ_CHECK(reread.ok(), "PlanToJson wrote what PlanFromJson refuses: " + reread.status().message() + "\n" +
                              written.dump());
  const json rewritten = replplan::PlanToJson(*reread);
  FUZZ_CHECK(rewritten == written, "re-read plan differs:\n" + written.dump() + "\n" + rewritten.dump());
  FUZZ_CHECK(replplan::RenderPlanText(*reread) == replplan::RenderPlanText(*plan), written.dump());

  const json read = Comparable(document);
  const json kept = Comparable(written);
  FUZZ_CHECK(read == kept, "the accepted document and the plan read from it differ:\nread:    " + read.dump() +
                               "\nwritten: " + kept.dump());
  return 0;
}
