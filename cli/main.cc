// replplan: the thin CLI. Argument parsing and output only; the work is in engine/ and providers/.
//
// Exit codes follow Terraform's so CI drift checks can use them:
//   validate: 0 valid, 1 invalid.
//   plan:     0 success, 1 error (bad file, or a host could not be read: the plan is incomplete);
//             with --detailed-exitcode: 0 no changes, 2 changes, 1 error.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "engine/plan.h"
#include "engine/planner.h"
#include "engine/topology_parser.h"
#include "providers/provider.h"
#include "providers/state_reader.h"

namespace replplan {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitChanges = 2;

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Reads and validates the topology; prints every diagnostic on stderr.
Result<Topology> LoadTopology(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  TopologyParse parse = ParseTopology(*text, path);
  if (!parse.ok()) {
    for (const Diagnostic& d : parse.errors) std::cerr << d.ToString() << "\n";
    return Status::InvalidArgument(std::to_string(parse.errors.size()) + " error" +
                                   (parse.errors.size() == 1 ? "" : "s") + " in " + path);
  }
  return std::move(parse.topology);
}

int RunValidate(const std::string& path) {
  auto topology = LoadTopology(path);
  if (!topology.ok()) {
    std::cerr << "replplan: " << topology.status().message() << "\n";
    return kExitError;
  }
  std::cout << path << ": valid (cluster \"" << topology->cluster.name << "\", "
            << topology->servers.size() << " servers, primary " << topology->cluster.primary << ")\n";
  return kExitOk;
}

struct PlanOptions {
  std::string path;
  bool json = false;
  bool detailed_exitcode = false;
  int parallelism = 10;
  std::string out;
  bool verbose = false;
};

int RunPlan(const PlanOptions& options) {
  auto topology = LoadTopology(options.path);
  if (!topology.ok()) {
    std::cerr << "replplan: " << topology.status().message() << "\n";
    return kExitError;
  }
  std::unique_ptr<Provider> provider = MakeLiveProvider();
  auto started = std::chrono::steady_clock::now();
  LiveState live = ReadLiveState(*topology, *provider, options.parallelism);
  if (options.verbose) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                    started).count();
    std::cerr << "read " << live.servers.size() << " servers in " << ms << " ms (parallelism "
              << options.parallelism << ")\n";
  }
  auto plan = BuildPlan(*topology, live);
  if (!plan.ok()) {
    std::cerr << "replplan: " << plan.status().message() << "\n";
    return kExitError;
  }
  if (!options.out.empty()) {
    std::ofstream out(options.out);
    out << PlanToJson(*plan).dump(2) << "\n";
    if (!out) {
      std::cerr << "replplan: cannot write " << options.out << "\n";
      return kExitError;
    }
  }
  if (options.json) {
    std::cout << PlanToJson(*plan).dump(2) << "\n";
  } else {
    std::cout << RenderPlanText(*plan);
  }
  if (plan->incomplete()) return kExitError;
  if (options.detailed_exitcode && plan->has_changes()) return kExitChanges;
  return kExitOk;
}

}  // namespace
}  // namespace replplan

int main(int argc, char** argv) {
  using namespace replplan;
  CLI::App app{"replplan: keep a MySQL/MariaDB replication topology as a reviewed TOML file says"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "replplan 0.1.0");

  std::string validate_path;
  CLI::App* validate = app.add_subcommand("validate", "Check a topology file; errors as FILE:LINE:COL");
  validate->add_option("file", validate_path, "topology TOML file")->required();

  PlanOptions plan_options;
  CLI::App* plan = app.add_subcommand("plan", "Read the live servers and print what apply would change");
  plan->add_option("file", plan_options.path, "topology TOML file")->required();
  plan->add_flag("--json", plan_options.json, "print the plan as JSON (schemas/plan.schema.json)");
  plan->add_flag("--detailed-exitcode", plan_options.detailed_exitcode,
                 "exit 0 no changes, 2 changes, 1 error");
  plan->add_option("--parallelism", plan_options.parallelism, "servers read at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  plan->add_option("--out", plan_options.out, "also save the plan as JSON to this file");
  plan->add_flag("-v,--verbose", plan_options.verbose, "report read timings on stderr");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message; its own codes (100+) are folded into 1 so that 2 keeps
    // meaning "changes" for --detailed-exitcode.
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (validate->parsed()) return RunValidate(validate_path);
  if (plan->parsed()) return RunPlan(plan_options);
  return 1;
}
