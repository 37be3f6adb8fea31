#pragma once
/// @file register.hpp
/// One line registers a rule under a policy `kind` and exports it for
/// Boost.Serialization, for built-in and host rules alike. Use it in exactly one
/// .cpp file, after including the archive types the rule is saved with
/// (tierkit/io/archives.hpp for tierkit's own):
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
#include <boost/serialization/export.hpp>
#include <nlohmann/json.hpp>

#include "tierkit/rules/registry.hpp"

/// Export `Type` for serialization as "tierkit.rule.<kind>" and register a factory
/// that calls `Type(params, path, tiers)` under `kind`.
#define TIERKIT_REGISTER_RULE(Type, kind)                                                                \
    BOOST_CLASS_EXPORT_GUID(Type, "tierkit.rule." kind)                                                  \
    TIERKIT_REGISTER_RULE_FACTORY_(Type, kind, __COUNTER__)

#define TIERKIT_REGISTER_RULE_FACTORY_(Type, kind, n) TIERKIT_REGISTER_RULE_FACTORY2_(Type, kind, n)
#define TIERKIT_REGISTER_RULE_FACTORY2_(Type, kind, n)                                                   \
    namespace {                                                                                          \
    [[maybe_unused]] const bool tierkit_rule_registered_##n = ::tierkit::register_rule(                  \
        kind, [](const nlohmann::json& params, const std::string& path, std::size_t tiers) {              \
            return std::unique_ptr<::tierkit::Rule>(std::make_unique<Type>(params, path, tiers));        \
        });                                                                                              \
    }

/// For a built-in rule whose class is declared in a header with
/// BOOST_CLASS_EXPORT_KEY2(Type, "tierkit.rule.<kind>"): instantiate the export.
#define TIERKIT_IMPLEMENT_RULE(Type) BOOST_CLASS_EXPORT_IMPLEMENT(Type)
