#include "ops/pause_store.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "providers/local/atomic_file.h"

namespace replplan::ops {

std::string PauseFilePath(const std::string& topology_path, const std::string& state_dir) {
  if (state_dir.empty()) return topology_path + ".pause";
  const size_t slash = topology_path.rfind('/');
  const std::string name = slash == std::string::npos ? topology_path : topology_path.substr(slash + 1);
  return (state_dir.back() == '/' ? state_dir : state_dir + "/") + name + ".pause";
}

std::string PauseStateJson(const PauseState& state) {
  nlohmann::ordered_json j;
  j["paused"] = state.paused;
  j["reason"] = state.reason;
  j["by"] = state.by;
  j["since"] = state.since;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<PauseState> ParsePauseState(const std::string& text, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(where + ": not a pause record (" + why +
                                   "); write it again with `replplan watch pause` or `replplan watch resume`");
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto paused = j.find("paused");
  if (paused == j.end() || !paused->is_boolean()) return bad("\"paused\" is not true or false");
  PauseState state;
  state.paused = paused->get<bool>();
  for (auto [key, field] : {std::pair{"reason", &state.reason}, {"by", &state.by}, {"since", &state.since}}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_string()) return bad(std::string("\"") + key + "\" is not a string");
    *field = it->get<std::string>();
  }
  return state;
}

Result<PauseState> LocalPauseStore::Read() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 && errno == ENOENT) return PauseState{};  // never paused
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Status::Unavailable("cannot read the pause record " + path_ + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return ParsePauseState(text.str(), path_);
}

Status LocalPauseStore::Write(const PauseState& state) {
  return WriteFileAtomically(path_, PauseStateJson(state), 0600, owner_like_);
}

Result<PauseState> KvPauseStore::Read() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!failed_.ok() && now - failed_at_ < retry_after_) return failed_;
  if (last_ && now - last_at_ < fresh_for_) return *last_;
  auto kvs = store_.Get(key_, false);
  if (!kvs.ok()) {
    failed_ = Status::Unavailable("cannot read the pause record (" + Where() + "): " + kvs.status().message());
    failed_at_ = now;
    last_.reset();
    return failed_;
  }
  failed_ = Status::OK();
  auto state = kvs->empty() ? Result<PauseState>(PauseState{})  // never paused
                            : ParsePauseState(kvs->front().value, Where());
  if (state.ok()) {
    last_ = *state;
    last_at_ = now;
  } else {
    last_.reset();
  }
  return state;
}

Status KvPauseStore::Write(const PauseState& state) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_.reset();
  }
  auto put = store_.Txn({}, {KvPut{key_, PauseStateJson(state), 0}});
  if (!put.ok()) return Status::Unavailable("cannot write the pause record (" + Where() + "): " + put.status().message());
  return Status::OK();
}

PauseWatch::Reading PauseWatch::Read() {
  Reading reading;
  if (store_ == nullptr) return reading;
  auto state = store_->Read();
  if (!state.ok()) {
    reading.paused = true;
    if (state.status().message() != last_error_) {
      last_error_ = state.status().message();
      reading.change = WatchEvent("pause-unreadable", "the pause record cannot be read, so the watcher acts as " +
                                                          std::string("paused (no failover, no fencing): ") +
                                                          last_error_)
                           .With("where", store_->Where())
                           .With("error", last_error_);
    }
    last_.reset();
    was_paused_ = true;
    was_unreadable_ = true;
    return reading;
  }
  last_error_.clear();
  reading.paused = state->paused;
  if (!last_ || *last_ != *state) {
    // A new pause record (another reason, another operator) is reported too; a resume only after a pause.
    if (state->paused) {
      reading.change = WatchEvent("paused", "cluster paused since " + state->since +
                                                (state->reason.empty() ? "" : " (" + state->reason + ")") + " by " +
                                                (state->by.empty() ? "?" : state->by) +
                                                ": watching and reporting only; no failover, no fencing until " +
                                                "`replplan watch resume`")
                           .With("reason", state->reason)
                           .With("by", state->by)
                           .With("since", state->since);
    } else if (was_unreadable_ && state->since.empty()) {
      // Never paused: the record could not be read for a while (etcd away), and now it can.
      reading.change = WatchEvent("resumed", "the pause record can be read again (" + store_->Where() +
                                                 "): not paused; failing over again when the primary is lost")
                           .With("where", store_->Where());
    } else if (was_paused_) {
      reading.change = WatchEvent("resumed", "cluster resumed at " + state->since + " by " +
                                                 (state->by.empty() ? "?" : state->by) +
                                                 ": failing over again when the primary is lost")
                           .With("by", state->by)
                           .With("since", state->since);
    }
    last_ = *state;
  }
  was_paused_ = state->paused;
  was_unreadable_ = false;
  return reading;
}

}  // namespace replplan::ops
