// libFuzzer target for the policy JSON parser: Policy::from_json on untrusted text.
//
// Invalid JSON and invalid policies must be tierkit errors (PolicyError, or
// InvalidInput for text that is not JSON); anything else escapes to libFuzzer and is
// reported as a crash. A policy that parses must survive a round trip through its
// normalized JSON: from_json(to_json()) parses and prints the same text, and its rule
// can be built.
//
// Seeds: tests/fuzz/corpus/policy (the policies of tests/ and README.md).
// Run: scripts/fuzz.sh (all targets briefly), `make fuzz` (longer).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tierkit/core/error.hpp"
#include "tierkit/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::string normalized;
    try {
        const tierkit::Policy policy = tierkit::Policy::from_json(text);
        normalized = policy.to_json();
        (void)policy.make_rule();
    } catch (const tierkit::Error&) {
        return 0;
    }
    try {
        const tierkit::Policy again = tierkit::Policy::from_json(normalized);
        if (again.to_json() != normalized) {
            std::fprintf(stderr, "to_json is not a fixed point:\n%s\n---\n%s\n", normalized.c_str(),
                         again.to_json().c_str());
            std::abort();
        }
    } catch (const tierkit::Error& e) {
        std::fprintf(stderr, "the normalized policy does not parse: %s\n%s\n", e.what(), normalized.c_str());
        std::abort();
    }
    return 0;
}
