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
#include <cstddef>
#include <istream>
#include <string>

#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/xml_iarchive.hpp>
#include <boost/serialization/collection_size_type.hpp>

namespace tierkit::io {

/// Throws FormatError when `count` exceeds the `left` bytes of the payload.
[[noreturn]] void collection_too_long(std::size_t count, std::size_t offset, std::size_t left, const char* what);
/// Throws FormatError for a bool byte other than 0 or 1.
[[noreturn]] void bool_out_of_range(unsigned value);
/// Throws FormatError for a class id below -1 (the null pointer's).
[[noreturn]] void class_id_out_of_range(int id);
/// Throws FormatError for an object id that is not the next new object's.
[[noreturn]] void object_id_out_of_order(unsigned got, unsigned expected);

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

/// Class and object ids as read from the payload, checked before Boost uses them.
/// Boost refers to the classes of a file by their number in front of every pointer:
/// -1 is a null pointer and classes count from 0, so a lower id is a crafted file
/// from which Boost would index before its class table. Boost gives every tracked
/// object an id and writes a back-reference as an earlier id; tierkit never saves an
/// object twice, so every object id is the next new one (0, 1, 2, ...). Anything
/// else is a crafted file, for which Boost would hand out the address of an earlier
/// object, possibly of another type, for the pointer being read.
/// Not checked (tests/fuzz/known_issues): a class id past the classes read so far.
class ArchiveIds {
public:
    void check_class(int id) const {
        if (id < -1) class_id_out_of_range(id);
    }
    void check_object(unsigned id) {
        if (id != next_object_) object_id_out_of_order(id, next_object_);
        ++next_object_;
    }

private:
    unsigned next_object_ = 0;
};

class checked_binary_iarchive
    : public boost::archive::binary_iarchive_impl<checked_binary_iarchive, std::istream::char_type, std::istream::traits_type> {
    using base = boost::archive::binary_iarchive_impl<checked_binary_iarchive, std::istream::char_type, std::istream::traits_type>;
    friend class boost::archive::detail::interface_iarchive<checked_binary_iarchive>;
    friend class boost::archive::basic_binary_iarchive<checked_binary_iarchive>;
    friend class boost::archive::basic_binary_iprimitive<checked_binary_iarchive, std::istream::char_type,
                                                         std::istream::traits_type>;
    friend class boost::archive::load_access;

public:
    /// @param size the payload's total length (for byte offsets in messages).
    checked_binary_iarchive(std::istream& is, std::size_t size, unsigned flags = 0)
        : base(is, flags), budget_(*is.rdbuf(), size) {
        init(flags);
    }

    using base::load;
    void load(boost::serialization::collection_size_type& t) {
        base::load(t);
        budget_.check(static_cast<std::size_t>(t), "collection");
    }
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

    using base::load_override;
    void load_override(boost::archive::object_id_type& t) {
        base::load_override(t);
        ids_.check_object(static_cast<unsigned>(t));
    }
    void load_override(boost::archive::class_id_type& t) {
        base::load_override(t);
        ids_.check_class(static_cast<int>(t));
    }

private:
    LengthBudget budget_;
    ArchiveIds ids_;
};

class checked_text_iarchive : public boost::archive::text_iarchive_impl<checked_text_iarchive> {
    using base = boost::archive::text_iarchive_impl<checked_text_iarchive>;
    friend class boost::archive::detail::interface_iarchive<checked_text_iarchive>;
    friend class boost::archive::basic_text_iarchive<checked_text_iarchive>;
    friend class boost::archive::load_access;

public:
    checked_text_iarchive(std::istream& is, std::size_t size, unsigned flags = 0)
        : base(is, flags), budget_(*is.rdbuf(), size) {
        if (!(flags & boost::archive::no_header)) init();
    }

    using base::load;
    void load(boost::serialization::collection_size_type& t) {
        base::load(t);
        budget_.check(static_cast<std::size_t>(t), "collection");
    }
    void load(std::string& s) {
        std::size_t length = 0;
        base::load(length);
        is.get();  // the separating space
        budget_.check(length, "string");
        s.resize(length);
        if (length) is.read(s.data(), static_cast<std::streamsize>(length));
    }

    using base::load_override;
    void load_override(boost::archive::object_id_type& t) {
        base::load_override(t);
        ids_.check_object(static_cast<unsigned>(t));
    }
    void load_override(boost::archive::class_id_type& t) {
        base::load_override(t);
        ids_.check_class(static_cast<int>(t));
    }

private:
    LengthBudget budget_;
    ArchiveIds ids_;
};

class checked_xml_iarchive : public boost::archive::xml_iarchive_impl<checked_xml_iarchive> {
    using base = boost::archive::xml_iarchive_impl<checked_xml_iarchive>;
    friend class boost::archive::detail::interface_iarchive<checked_xml_iarchive>;
    friend class boost::archive::basic_xml_iarchive<checked_xml_iarchive>;
    friend class boost::archive::load_access;

public:
    checked_xml_iarchive(std::istream& is, std::size_t size, unsigned flags = 0)
        : base(is, flags), budget_(*is.rdbuf(), size) {
        if (!(flags & boost::archive::no_header)) init();
    }

    using base::load;
    void load(boost::serialization::collection_size_type& t) {
        base::load(t);
        budget_.check(static_cast<std::size_t>(t), "collection");
    }
    /// Boost's own end-tag check reads past the expected name when the file's tag is
    /// longer; this one compares lengths first (else the same behaviour).
    void load_end(const char* name);
    void load_start(const char* name) {
        base::load_start(name);
        if (name) ++depth_;
    }

    using base::load_override;
    void load_override(boost::archive::object_id_type& t) {
        base::load_override(t);
        ids_.check_object(static_cast<unsigned>(t));
    }
    void load_override(boost::archive::class_id_type& t) {
        base::load_override(t);
        ids_.check_class(static_cast<int>(t));
    }

private:
    friend class boost::archive::xml_iarchive_impl<checked_xml_iarchive>;
    LengthBudget budget_;
    ArchiveIds ids_;
    unsigned depth_ = 0;
};

}  // namespace tierkit::io

BOOST_SERIALIZATION_REGISTER_ARCHIVE(tierkit::io::checked_binary_iarchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(tierkit::io::checked_binary_iarchive)
BOOST_SERIALIZATION_REGISTER_ARCHIVE(tierkit::io::checked_text_iarchive)
BOOST_SERIALIZATION_REGISTER_ARCHIVE(tierkit::io::checked_xml_iarchive)
