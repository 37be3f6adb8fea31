#pragma once
/// @file archives.hpp
/// Every Boost archive type tierkit reads and writes, plus the serialization
/// headers for the standard containers it uses. Include this in a .cpp before
/// BOOST_CLASS_EXPORT_IMPLEMENT (or TIERKIT_REGISTER_RULE) so a polymorphic type is
/// registered with all three archive kinds. Binary archives are not portable
/// across platforms; text and XML are. tierkit::load reads through the checked
/// input archives of checked_archives.hpp, registered here too.
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/text_oarchive.hpp>
#include <boost/archive/xml_iarchive.hpp>
#include <boost/archive/xml_oarchive.hpp>
#include <boost/serialization/base_object.hpp>
#include <boost/serialization/export.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/shared_ptr.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/unique_ptr.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include "tierkit/io/checked_archives.hpp"

/// TIERKIT_REGISTER_RULE (rules/register.hpp) checks that these archives are declared.
#define TIERKIT_ARCHIVES_DECLARED 1
