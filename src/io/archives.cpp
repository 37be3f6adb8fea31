// The checked input archives of io/checked_archives.hpp: Boost's archive
// implementations instantiated for them.
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>
#include <boost/archive/impl/basic_text_iarchive.ipp>
#include <boost/archive/impl/basic_xml_grammar.hpp>
#include <boost/archive/impl/basic_xml_iarchive.ipp>
#include <boost/archive/impl/text_iarchive_impl.ipp>
#include <boost/archive/impl/xml_iarchive_impl.ipp>
#include <boost/archive/xml_archive_exception.hpp>
#include <boost/serialization/extended_type_info.hpp>
#include <cstring>

#include "tierkit/core/error.hpp"
#include "tierkit/io/checked_archives.hpp"

namespace boost::archive {
template class detail::archive_serializer_map<tierkit::io::checked_binary_iarchive>;
template class basic_binary_iarchive<tierkit::io::checked_binary_iarchive>;
template class basic_binary_iprimitive<tierkit::io::checked_binary_iarchive, std::istream::char_type,
                                       std::istream::traits_type>;
template class binary_iarchive_impl<tierkit::io::checked_binary_iarchive, std::istream::char_type,
                                    std::istream::traits_type>;
template class detail::archive_serializer_map<tierkit::io::checked_text_iarchive>;
template class basic_text_iarchive<tierkit::io::checked_text_iarchive>;
template class text_iarchive_impl<tierkit::io::checked_text_iarchive>;
template class detail::archive_serializer_map<tierkit::io::checked_xml_iarchive>;
template class basic_xml_iarchive<tierkit::io::checked_xml_iarchive>;
template class xml_iarchive_impl<tierkit::io::checked_xml_iarchive>;
}  // namespace boost::archive

namespace tierkit::io {

void checked_xml_iarchive::load_end(const char* name) {
    if (name == nullptr) return;
    if (!gimpl->parse_end_tag(get_is()))
        boost::serialization::throw_exception(
            boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
    if (0 == --depth_) return;  // the top-level tag is not checked
    if (0 == (get_flags() & boost::archive::no_xml_tag_checking)) {
        const std::string& got = gimpl->rv.object_name;
        if (got.size() != std::strlen(name) || got.compare(0, got.size(), name) != 0)
            boost::serialization::throw_exception(boost::archive::xml_archive_exception(
                boost::archive::xml_archive_exception::xml_archive_tag_mismatch, name));
    }
}

void checked_xml_iarchive::finish() {
    std::istream& is = get_is();
    const std::streampos at = is.tellg();
    if (at == std::streampos(-1))
        boost::serialization::throw_exception(
            boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
    gimpl->windup(is);  // throws archive_exception when the stream ends inside the tag
    is.clear();
    is.seekg(at);
}

void collection_too_long(std::size_t count, std::size_t offset, std::size_t left, const char* what) {
    throw FormatError("load: a " + std::string(what) + " of " + std::to_string(count) + " elements at payload byte " +
                      std::to_string(offset) + " is longer than the " + std::to_string(left) + " bytes left");
}

void class_id_out_of_range(int id) {
    throw FormatError("load: class id " + std::to_string(id) +
                      " is out of range (-1 is a null pointer, classes count from 0)");
}

void object_id_out_of_order(unsigned got, unsigned expected) {
    throw FormatError("load: object id " + std::to_string(got) + " where the next new object's (" +
                      std::to_string(expected) + ") was expected: tierkit files hold no back-references");
}

void class_id_past_table(int id, std::size_t classes) {
    throw FormatError("load: a pointer's class id " + std::to_string(id) + " is past the " + std::to_string(classes) +
                      " classes introduced so far (a new class takes the next id, " + std::to_string(classes) + ")");
}

void class_read_twice(int id, const char* name) {
    throw FormatError("load: class id " + std::to_string(id) + " introduces class '" + std::string(name ? name : "?") +
                      "', which the archive already has under an earlier id");
}

void class_not_loadable(const char* name) {
    throw FormatError("load: class '" + std::string(name) + "' is not registered for loading with this archive kind");
}

void ArchiveIds::check_class(int id) {
    if (id < -1) class_id_out_of_range(id);
    const bool pointer = in_pointer_;
    in_pointer_ = false;
    if (!pointer || id == -1) return;
    const std::size_t known = classes_.size();
    if (static_cast<std::size_t>(id) < known) return;
    if (static_cast<std::size_t>(id) > known) class_id_past_table(id, known);
    // A new class. Boost reads its name next when the pointer's type is abstract or
    // polymorphic; else it is the pointer's own type.
    if (pointer_type_ == nullptr || pointer_type_->get_basic_serializer().is_polymorphic()) {
        named_next_ = id;
        return;
    }
    add_new(pointer_type_->get_basic_serializer(), id);
}

void ArchiveIds::check_class_name(const char* name) {
    const int id = named_next_;
    named_next_ = -1;
    if (id < 0 || name == nullptr || *name == 0) return;  // Boost refuses an empty name itself
    const auto* type = boost::serialization::extended_type_info::find(name);
    if (type == nullptr) return;  // Boost throws unregistered_class
    const auto* loader = finder_ ? finder_(*type) : nullptr;
    if (loader == nullptr) class_not_loadable(name);
    add_new(loader->get_basic_serializer(), id);
}

void ArchiveIds::add_new(const boost::archive::detail::basic_serializer& type, int id) {
    if (!classes_.insert(&type).second) class_read_twice(id, type.get_eti().get_key());
}

void bool_out_of_range(unsigned value) {
    throw FormatError("load: a bool in the payload holds " + std::to_string(value) + ", not 0 or 1");
}

}  // namespace tierkit::io
