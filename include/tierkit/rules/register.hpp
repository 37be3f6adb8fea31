#pragma once
/// @file register.hpp
/// One line registers a rule under a policy `kind` and exports it for
/// Boost.Serialization, for built-in and host rules alike. Use it once, at global
/// scope, in the .cpp file that defines the rule, after including the archive
/// types the rule is saved with (tierkit/io/archives.hpp for tierkit's own): Boost
/// instantiates a rule's serialization for the archives declared at that point.
///
/// @code
/// #include "tierkit/io/archives.hpp"
/// #include "tierkit/rules/register.hpp"
///
/// class MyRule : public tierkit::Rule {
/// public:
///     MyRule() = default;  // for loading
///     MyRule(const nlohmann::json& params, const std::string& path, std::size_t tiers);
///     ...
///     template <class Archive> void serialize(Archive& ar, unsigned) {
///         ar & boost::serialization::make_nvp("rule", boost::serialization::base_object<tierkit::Rule>(*this));
///         ar & BOOST_SERIALIZATION_NVP(cut_);
///     }
/// };
/// TIERKIT_REGISTER_RULE(MyRule, "my_rule")
/// @endcode
///
/// The factory is, in order of preference, the third argument (a RuleFactory), a
/// static `Type::from_json(params, path, tiers)`, or the constructor
/// `Type(params, path, tiers)`. The rule's capabilities (Rule::defaults_to_main_score,
/// Rule::row_assigner, ...) are read from its virtual methods, so a host rule gets
/// everything a built-in gets.
#include <boost/serialization/export.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "tierkit/rules/registry.hpp"

namespace tierkit::detail {

template <class Type>
RuleFactory rule_factory() {
    return [](const nlohmann::json& params, const std::string& path, std::size_t tiers) -> std::unique_ptr<Rule> {
        if constexpr (requires { Type::from_json(params, path, tiers); })
            return Type::from_json(params, path, tiers);
        else
            return std::make_unique<Type>(params, path, tiers);
    };
}
template <class Type>
RuleFactory rule_factory(RuleFactory factory) {
    return factory;
}

}  // namespace tierkit::detail

/// Export `Type` for serialization as "tierkit.rule.<name>" without a policy kind
/// (a rule that only other rules build, e.g. the group_by wrapper).
/// Without the archives declared first the export would compile and register nothing
/// to save or load with, so the macro refuses: a compile error naming
/// TIERKIT_ARCHIVES_DECLARED means "include tierkit/io/archives.hpp before this line".
#define TIERKIT_EXPORT_RULE(Type, name)                                                                    \
    static_assert(TIERKIT_ARCHIVES_DECLARED, "include tierkit/io/archives.hpp before registering a rule"); \
    BOOST_CLASS_EXPORT_GUID(Type, "tierkit.rule." name)

/// Export `Type` as "tierkit.rule.<kind>" and register its factory under `kind`.
#define TIERKIT_REGISTER_RULE(Type, kind, ...) \
    TIERKIT_EXPORT_RULE(Type, kind)            \
    TIERKIT_REGISTER_RULE_FACTORY_(Type, kind, __COUNTER__, __VA_ARGS__)

#define TIERKIT_REGISTER_RULE_FACTORY_(Type, kind, n, ...) TIERKIT_REGISTER_RULE_FACTORY2_(Type, kind, n, __VA_ARGS__)
#define TIERKIT_REGISTER_RULE_FACTORY2_(Type, kind, n, ...)                                         \
    namespace {                                                                                     \
    [[maybe_unused]] const bool tierkit_rule_registered_##n =                                       \
        ::tierkit::register_rule(kind, ::tierkit::detail::rule_factory<Type>(__VA_ARGS__), Type{}); \
    }

// The library's own rules (src/rules/builtin/*.cpp) are compiled with
// TIERKIT_BUILTIN_RULE_ANCHOR set to a name per file; the registry calls every such
// anchor, so a static link keeps each built-in rule's object file (and its
// registration) without any file naming the rules.
#ifdef TIERKIT_BUILTIN_RULE_ANCHOR
namespace tierkit::builtin_rules {
void TIERKIT_BUILTIN_RULE_ANCHOR() {}
}  // namespace tierkit::builtin_rules
#endif
