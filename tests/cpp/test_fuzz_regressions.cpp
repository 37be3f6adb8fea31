// Every input the fuzzers found (tests/fuzz/corpus/<target>/regression_*) must keep
// meeting the target's contract: Policy::from_json throws only tierkit errors, and
// load() throws only FormatError.
#include <gtest/gtest.h>

#include <boost/crc.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tierkit/core/error.hpp"
#include "tierkit/io/model_io.hpp"
#include "tierkit/policy.hpp"

namespace fs = std::filesystem;
using namespace tierkit;

namespace {
const fs::path corpus = fs::path(TIERKIT_TEST_DATA).parent_path() / "fuzz" / "corpus";

std::vector<std::pair<std::string, std::string>> regressions(const std::string& target) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& entry : fs::directory_iterator(corpus / target)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("regression_", 0) != 0) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        out.emplace_back(name, bytes.str());
    }
    return out;
}
}  // namespace

TEST(FuzzRegressions, PolicyParserThrowsOnlyTierkitErrors) {
    const auto inputs = regressions("policy");
    ASSERT_FALSE(inputs.empty());
    for (const auto& [name, text] : inputs) {
        std::string normalized;
        try {
            normalized = Policy::from_json(text).to_json();
        } catch (const Error&) {
            continue;
        } catch (const std::exception& e) {
            ADD_FAILURE() << name << ": " << e.what();
            continue;
        }
        // As fuzz_policy checks: an accepted policy's normalized JSON parses again to itself.
        try {
            EXPECT_EQ(Policy::from_json(normalized).to_json(), normalized) << name;
        } catch (const std::exception& e) {
            ADD_FAILURE() << name << ": the normalized policy does not parse: " << e.what();
        }
    }
    // An empty column name is refused in the shorthand too (it was accepted, and its
    // normalized form then refused).
    try {
        (void)Policy::from_json(
            R"({"criteria": [""], "rule": {"kind": "thresholds", "cuts": [50]}, "tiers": ["a", "b"]})");
        ADD_FAILURE() << "an empty criterion column was accepted";
    } catch (const PolicyError& e) {
        EXPECT_NE(std::string(e.what()).find("a column name must not be empty"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("criteria[0]"), std::string::npos) << e.what();
    }
    EXPECT_THROW(Policy::from_json("{\"name\": 1" + std::string(400, '1') + "}"), PolicyError);
}

TEST(FuzzRegressions, LoaderThrowsOnlyFormatErrors) {
    const auto inputs = regressions("model_io");
    ASSERT_FALSE(inputs.empty());
    for (const auto& [name, bytes] : inputs) {
#if defined(__SANITIZE_ADDRESS__)
        // Boost 1.74 leaks the object whose load threw (see scripts/fuzz.sh); the
        // leak checker of the ASan suite would report it.
        if (name.rfind("regression_leak_", 0) == 0) continue;
#endif
        // As fuzz_model_io does: the bytes as they are, then with the envelope's length
        // and checksum matching the payload (so that it reaches the archive reader).
        std::string fixed = bytes;
        if (fixed.size() >= 32) {
            const std::uint64_t length = fixed.size() - 32;
            for (int k = 0; k < 8; ++k) fixed[20 + k] = static_cast<char>((length >> (8 * k)) & 0xff);
            boost::crc_32_type crc;
            crc.process_bytes(fixed.data() + 32, fixed.size() - 32);
            for (int k = 0; k < 4; ++k) fixed[28 + k] = static_cast<char>((crc.checksum() >> (8 * k)) & 0xff);
        }
        for (const std::string* input : {&bytes, static_cast<const std::string*>(&fixed)}) {
            std::istringstream in(*input);
            try {
                (void)load(in);
                ADD_FAILURE() << name << ": loaded";
            } catch (const FormatError& e) {
                // A pointer that refers back to an earlier object (of another type) is
                // refused when its object id is read, before Boost hands out the address.
                if (input == &fixed && name == "regression_object_reference_type_confusion")
                    EXPECT_NE(std::string(e.what()).find("tierkit files hold no back-references"), std::string::npos)
                        << e.what();
                // A pointer's class id past Boost's class table is refused when it is read.
                if (input == &fixed && name == "regression_class_id_past_table")
                    EXPECT_NE(std::string(e.what()).find("is past the"), std::string::npos) << e.what();
            } catch (const std::exception& e) {
                ADD_FAILURE() << name << ": " << e.what();
            }
        }
    }
}
