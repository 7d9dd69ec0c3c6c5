// Runs the language-neutral conformance cases of tests/conformance/ against
// the engine. The same cases run through the JS API (tests/wasm/conformance.test.js).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/engine/engine.h"

namespace rekindle {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

fs::path cases_dir() { return fs::path(REKINDLE_SOURCE_DIR) / "tests" / "conformance"; }

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cases_dir(), ec)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

json read_case(const std::string& name) {
  std::ifstream in(cases_dir() / (name + ".json"));
  std::stringstream buf;
  buf << in.rdbuf();
  return json::parse(buf.str(), nullptr, false);
}

TimeMs iso(const json& j) {
  auto t = parse_iso8601(j.get<std::string>());
  EXPECT_TRUE(t.has_value()) << j;
  return t.value_or(0);
}

std::vector<std::string> sorted_transitions(const json& list) {
  std::vector<std::string> out;
  for (const auto& t : list) {
    // Normalise `at` so that "…:00Z" and "…:00.000Z" compare equal.
    std::string at = format_iso8601(iso(t["at"]));
    out.push_back(at + " " + t["segment"].get<std::string>() + " " + t["status"].get<std::string>());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string errors_text(const json& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  " + e["path"].get<std::string>() + ": " + e["reason"].get<std::string>();
  return out;
}

class Conformance : public testing::TestWithParam<std::string> {};

TEST_P(Conformance, Case) {
  json c = read_case(GetParam());
  ASSERT_FALSE(c.is_discarded()) << "case file is not valid JSON";
  engine::Engine engine("device-1");
  auto loaded = engine::to_json(engine.load_artifact(dump(c["artifact"]), 0));

  if (c.contains("expectArtifactErrors")) {
    ASSERT_FALSE(loaded["ok"].get<bool>()) << "the artifact must be rejected";
    for (const auto& want : c["expectArtifactErrors"]) {
      bool found = false;
      for (const auto& e : loaded["errors"])
        found = found || (e["path"] == want["path"] &&
                          e["reason"].get<std::string>().find(want.value("reasonContains", "")) != std::string::npos);
      EXPECT_TRUE(found) << "missing error " << want << "; got:" << errors_text(loaded["errors"]);
    }
    if (c.contains("exactErrorCount"))
      EXPECT_EQ(loaded["errors"].size(), c["exactErrorCount"].get<size_t>()) << errors_text(loaded["errors"]);
    return;
  }
  ASSERT_TRUE(loaded["ok"].get<bool>()) << "artifact refused:" << errors_text(loaded["errors"]);

  const json& steps = c["steps"];
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& step = steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + ": " + dump(step).substr(0, 300));
    json result;
    if (step.contains("event")) {
      TimeMs now = step.contains("now") ? iso(step["now"]) : iso(step["event"]["timestamp"]);
      result = engine::to_json(engine.ingest(dump(step["event"]), now));
    } else if (step.contains("advance")) {
      result = engine::to_json(engine.advance(iso(step["advance"])));
    } else if (step.contains("attributes")) {
      result = engine::to_json(engine.set_attributes(dump(step["attributes"]), iso(step["now"])));
    } else {
      FAIL() << "unknown step kind";
    }
    if (!step.contains("expect")) continue;
    const json& want = step["expect"];
    if (want.value("rejected", false)) {
      EXPECT_FALSE(result["ok"].get<bool>()) << "the event must be refused";
      if (want.contains("errorPath")) {
        bool found = false;
        for (const auto& e : result["errors"])
          found = found || (e["path"] == want["errorPath"] &&
                            e["reason"].get<std::string>().find(want.value("errorContains", "")) != std::string::npos);
        EXPECT_TRUE(found) << "missing error at " << want["errorPath"] << errors_text(result["errors"]);
      }
    } else {
      EXPECT_TRUE(result["ok"].get<bool>()) << "refused:" << errors_text(result["errors"]);
    }
    if (want.contains("duplicate")) EXPECT_EQ(result["duplicate"], want["duplicate"]);
    if (want.contains("transitions"))
      EXPECT_EQ(sorted_transitions(result["transitions"]), sorted_transitions(want["transitions"]));
    if (want.contains("members")) {
      std::vector<std::string> got, expected;
      for (const auto& m : engine.segments()) got.push_back(m.segment);
      for (const auto& m : want["members"]) expected.push_back(m.get<std::string>());
      std::sort(got.begin(), got.end());
      std::sort(expected.begin(), expected.end());
      EXPECT_EQ(got, expected);
    }
    if (want.contains("nextDeadline")) {
      auto next = engine.next_deadline();
      if (want["nextDeadline"].is_null()) {
        EXPECT_FALSE(next.has_value()) << format_iso8601(next.value_or(0));
      } else {
        ASSERT_TRUE(next.has_value());
        EXPECT_EQ(format_iso8601(*next), format_iso8601(iso(want["nextDeadline"])));
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, Conformance, testing::ValuesIn(case_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& ch : name)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

TEST(ConformanceData, HasAtLeastFortyCases) { EXPECT_GE(case_names().size(), 40u); }

}  // namespace
}  // namespace rekindle
