#pragma once
/// @file checked_archives.hpp
/// The archive types tierkit::load reads with: Boost's binary, text and XML input
/// archives, except that every collection size and string length read from the
/// payload is checked against the bytes left in it before anything is allocated. A
/// crafted file can therefore not make load() reserve more elements than it has
/// bytes (each element takes at least one byte in every archive kind); the check
/// throws FormatError naming the payload byte. Saving uses Boost's own output
/// archives: the bytes are the same.
///
/// They are registered like Boost's archives, so a rule exported after including
/// tierkit/io/archives.hpp (TIERKIT_REGISTER_RULE) loads through them.
#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/detail/basic_iserializer.hpp>
#include <boost/archive/detail/basic_pointer_iserializer.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/xml_iarchive.hpp>
#include <boost/serialization/collection_size_type.hpp>
#include <cstddef>
#include <istream>
#include <set>
#include <string>

namespace tierkit::io {

/// Throws FormatError when `count` exceeds the `left` bytes of the payload.
[[noreturn]] void collection_too_long(std::size_t count, std::size_t offset, std::size_t left, const char* what);
/// Throws FormatError for a bool byte other than 0 or 1.
[[noreturn]] void bool_out_of_range(unsigned value);
/// Throws FormatError for a class id below -1 (the null pointer's).
[[noreturn]] void class_id_out_of_range(int id);
/// Throws FormatError for an object id that is not the next new object's.
[[noreturn]] void object_id_out_of_order(unsigned got, unsigned expected);
/// Throws FormatError for a pointer's class id past the classes introduced so far.
[[noreturn]] void class_id_past_table(int id, std::size_t classes);
/// Throws FormatError for a "new" class id naming a class the archive already has.
[[noreturn]] void class_read_twice(int id, const char* name);
/// Throws FormatError for a class name this archive kind cannot load.
[[noreturn]] void class_not_loadable(const char* name);

/// The payload bytes not yet consumed by an archive reading from `buf`, and the check
/// of a length read from it.
class LengthBudget {
public:
    LengthBudget(std::streambuf& buf, std::size_t size) : buf_(buf), size_(size) {}
    void check(std::size_t count, const char* what) const {
        const std::streamsize n = buf_.in_avail();
        const std::size_t left = n > 0 ? static_cast<std::size_t>(n) : 0;
        if (count > left) collection_too_long(count, size_ - left, left, what);
    }

private:
    std::streambuf& buf_;
    std::size_t size_;
};

/// Boost's pointer loaders: a pointer's serializer, and how Boost finds the loader of
/// a class named in the file.
using PointerFinder =
    const boost::archive::detail::basic_pointer_iserializer* (*)(const boost::serialization::extended_type_info&);

/// Class and object ids as read from the payload, checked before Boost uses them.
///
/// Classes: Boost numbers the classes of an archive in the order it meets them
/// (0, 1, 2, ...) and writes that number in front of every pointer; -1 is a null
/// pointer. While loading it keeps a table of the classes introduced so far and
/// indexes it with the number read, trusting the file: a number past the table (or
/// a "new" number for a class already in it) reads past its end. ArchiveIds mirrors
/// that table exactly - it sees every registration Boost makes (load_object,
/// register_basic_serializer and a pointer's new class, with or without class
/// information), keyed by type as Boost keys it - and refuses a pointer's class id
/// unless it is -1, an id already introduced, or the next one for a class not yet
/// in the table.
///
/// Objects: Boost gives every tracked object an id and writes a back-reference as an
/// earlier id; tierkit never saves an object twice, so every object id is the next
/// new one (0, 1, 2, ...). Anything else is a crafted file, for which Boost would
/// hand out the address of an earlier object, possibly of another type.
class ArchiveIds {
public:
    /// A pointer is about to be read: its static serializer (null for an abstract
    /// base) and Boost's finder for a class named in the file.
    void begin_pointer(const boost::archive::detail::basic_pointer_iserializer* static_type,
                       PointerFinder finder) noexcept {
        pointer_type_ = static_type;
        finder_ = finder;
        in_pointer_ = true;
    }
    /// Boost registers a class (as its basic_iarchive does).
    void registered(const boost::archive::detail::basic_serializer& type) { classes_.insert(&type); }
    void check_class(int id);
    void check_class_name(const char* name);
    void check_object(unsigned id) {
        if (id != next_object_) object_id_out_of_order(id, next_object_);
        ++next_object_;
    }

private:
    struct ByType {  // Boost's own order: by extended type info, not by address
        bool operator()(const boost::archive::detail::basic_serializer* a,
                        const boost::archive::detail::basic_serializer* b) const {
            return *a < *b;
        }
    };
    void add_new(const boost::archive::detail::basic_serializer& type, int id);

    std::set<const boost::archive::detail::basic_serializer*, ByType> classes_;
    const boost::archive::detail::basic_pointer_iserializer* pointer_type_ = nullptr;
    PointerFinder finder_ = nullptr;
    bool in_pointer_ = false;
    int named_next_ = -1;  ///< a new polymorphic class's id, whose name comes next
    unsigned next_object_ = 0;
};

/// The checks every checked archive shares (CRTP over the archive `Derived` and its
/// Boost implementation `Impl`): collection sizes against the bytes left, class and
/// object ids, and the class table mirror.
template <class Derived, class Impl>
class checked_iarchive : public Impl {
protected:
    checked_iarchive(std::istream& is, std::size_t size, unsigned flags)
        : Impl(is, flags), budget_(*is.rdbuf(), size) {}

public:
    using Impl::load;
    void load(boost::serialization::collection_size_type& t) {
        Impl::load(t);
        budget_.check(static_cast<std::size_t>(t), "collection");
    }

    using Impl::load_override;
    void load_override(boost::archive::object_id_type& t) {
        Impl::load_override(t);
        ids_.check_object(static_cast<unsigned>(t));
    }
    void load_override(boost::archive::class_id_type& t) {
        Impl::load_override(t);
        ids_.check_class(static_cast<int>(t));
    }
    void load_override(boost::archive::class_name_type& t) {
        Impl::load_override(t);
        ids_.check_class_name(t.t);
    }

    // Boost's basic_iarchive members, which its loaders call on the derived archive.
    void register_basic_serializer(const boost::archive::detail::basic_iserializer& type) {
        ids_.registered(type);
        Impl::register_basic_serializer(type);
    }
    void load_object(void* t, const boost::archive::detail::basic_iserializer& type) {
        ids_.registered(type);
        Impl::load_object(t, type);
    }
    const boost::archive::detail::basic_pointer_iserializer* load_pointer(
        void*& t, const boost::archive::detail::basic_pointer_iserializer* static_type, PointerFinder finder) {
        ids_.begin_pointer(static_type, finder);
        return Impl::load_pointer(t, static_type, finder);
    }

protected:
    LengthBudget budget_;
    ArchiveIds ids_;
};

class checked_binary_iarchive
    : public checked_iarchive<checked_binary_iarchive,
                              boost::archive::binary_iarchive_impl<checked_binary_iarchive, std::istream::char_type,
                                                                   std::istream::traits_type>> {
    using base = checked_iarchive<checked_binary_iarchive,
                                  boost::archive::binary_iarchive_impl<checked_binary_iarchive, std::istream::char_type,
                                                                       std::istream::traits_type>>;
    friend class boost::archive::detail::interface_iarchive<checked_binary_iarchive>;
    friend class boost::archive::basic_binary_iarchive<checked_binary_iarchive>;
    friend class boost::archive::basic_binary_iprimitive<checked_binary_iarchive, std::istream::char_type,
                                                         std::istream::traits_type>;
    friend class boost::archive::load_access;

public:
    /// @param size the payload's total length (for byte offsets in messages).
    checked_binary_iarchive(std::istream& is, std::size_t size, unsigned flags = 0) : base(is, size, flags) {
        init(flags);
    }

    using base::load;
    void load(std::string& s) {
        std::size_t length = 0;
        base::load(length);
        budget_.check(length, "string");
        s.resize(length);
        if (length) load_binary(s.data(), length);
    }
    /// A bool is one byte, 0 or 1; Boost would load any other byte into the bool.
    void load(bool& t) {
        unsigned char byte = 0;
        load_binary(&byte, 1);
        if (byte > 1) bool_out_of_range(byte);
        t = byte == 1;
    }
};

class checked_text_iarchive
    : public checked_iarchive<checked_text_iarchive, boost::archive::text_iarchive_impl<checked_text_iarchive>> {
    using base = checked_iarchive<checked_text_iarchive, boost::archive::text_iarchive_impl<checked_text_iarchive>>;
    friend class boost::archive::detail::interface_iarchive<checked_text_iarchive>;
    friend class boost::archive::basic_text_iarchive<checked_text_iarchive>;
    friend class boost::archive::load_access;

public:
    checked_text_iarchive(std::istream& is, std::size_t size, unsigned flags = 0) : base(is, size, flags) {
        if (!(flags & boost::archive::no_header)) init();
    }

    using base::load;
    void load(std::string& s) {
        std::size_t length = 0;
        base::load(length);
        is.get();  // the separating space
        budget_.check(length, "string");
        s.resize(length);
        if (length) is.read(s.data(), static_cast<std::streamsize>(length));
    }
};

class checked_xml_iarchive
    : public checked_iarchive<checked_xml_iarchive, boost::archive::xml_iarchive_impl<checked_xml_iarchive>> {
    using base = checked_iarchive<checked_xml_iarchive, boost::archive::xml_iarchive_impl<checked_xml_iarchive>>;
    friend class boost::archive::detail::interface_iarchive<checked_xml_iarchive>;
    friend class boost::archive::basic_xml_iarchive<checked_xml_iarchive>;
    friend class boost::archive::load_access;

public:
    checked_xml_iarchive(std::istream& is, std::size_t size, unsigned flags = 0) : base(is, size, flags) {
        if (!(flags & boost::archive::no_header)) init();
    }

    /// Boost's own end-tag check reads past the expected name when the file's tag is
    /// longer; this one compares lengths first (else the same behaviour).
    void load_end(const char* name);
    /// Read the closing </boost_serialization> tag now. Boost reads it in the
    /// destructor, where a payload that ends early throws and ends the process; here
    /// the error reaches the caller. The stream is then put back before the tag, so
    /// the destructor reads it again the same way. Needs a seekable stream.
    void finish();
    void load_start(const char* name) {
        base::load_start(name);
        if (name) ++depth_;
    }

private:
    friend class boost::archive::xml_iarchive_impl<checked_xml_iarchive>;
    unsigned depth_ = 0;
};

}  // namespace tierkit::io

BOOST_SERIALIZATION_REGISTER_ARCHIVE(tierkit::io::checked_binary_iarchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(tierkit::io::checked_binary_iarchive)
BOOST_SERIALIZATION_REGISTER_ARCHIVE(tierkit::io::checked_text_iarchive)
BOOST_SERIALIZATION_REGISTER_ARCHIVE(tierkit::io::checked_xml_iarchive)
