#pragma once
/// @file column.hpp
/// Column<T>: the std::vector type of the per-row outputs of assign (scores,
/// contributions, tier, reason, below_count, ids). Its allocator default-initializes,
/// so `Column<double> c(n)` or `c.resize(n)` leaves the values unset instead of
/// writing zeros: the rows are then written once, in parallel, by the code that
/// computes them, and the fresh pages are faulted in by the threads that fill them
/// (at 10^7 rows, zeroing first costs as much as scoring). Large blocks can be kept
/// for reuse after a Column frees them (detail::BlockCache, set_buffer_cache_limit()):
/// off by default in a C++ program, on (1 GiB) in the Python module.
///
/// Use `Column<T>(n, value)` or `assign(n, value)` when a value is needed; read a
/// column through std::span or compare it with a std::vector (operator== below).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "tierkit/core/parallel.hpp"

namespace tierkit {

namespace detail {

/// Large blocks freed by Columns, kept for the next Column of about the same size.
/// A fresh block's pages are faulted in one by one by the kernel on first touch
/// (about 0.3 ms per MB on a virtual machine, no faster with more threads: at 10^7
/// rows that was half of assign); a reused block's pages are already mapped. The
/// cache holds at most buffer_cache_limit() bytes (oldest blocks freed first) and
/// only blocks of at least 1 MiB; a block is reused for a request of up to 25%
/// fewer bytes. Thread-safe. Off unless turned on (set_buffer_cache_limit,
/// enable_buffer_cache, TIERKIT_BUFFER_CACHE_MB); off at start in sanitizer builds,
/// so that AddressSanitizer sees every free.
class BlockCache {
public:
    static constexpr std::size_t min_bytes = std::size_t{1} << 20;
    static constexpr std::size_t header = 64;  ///< before each block: its size (keeps 64-byte alignment)
    /// A sanitizer build: the cache stays off.
    static constexpr bool sanitized =
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
        true;
#else
        false;
#endif
#else
        false;
#endif

    static BlockCache& instance() {
        static BlockCache* cache = new BlockCache;  // never destroyed: Columns may be freed at exit
        return *cache;
    }

    void* allocate(std::size_t bytes) {
        const std::size_t total = bytes + header;
        {
            std::lock_guard lock(mutex_);
            std::size_t best = blocks_.size();
            for (std::size_t k = 0; k < blocks_.size(); ++k) {
                const std::size_t size = blocks_[k].first;
                if (size >= total && size - total <= total / 4 &&
                    (best == blocks_.size() || size < blocks_[best].first))
                    best = k;
            }
            if (best != blocks_.size()) {
                void* block = blocks_[best].second;
                held_ -= blocks_[best].first;
                blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(best));
                return static_cast<char*>(block) + header;
            }
        }
        void* block = ::operator new (total, std::align_val_t{header});
        *static_cast<std::size_t*>(block) = total;
        return static_cast<char*>(block) + header;
    }

    void deallocate(void* p) noexcept {
        void* block = static_cast<char*>(p) - header;
        const std::size_t total = *static_cast<std::size_t*>(block);
        std::vector<void*> evicted;
        {
            std::lock_guard lock(mutex_);
            const std::size_t limit = limit_.load();
            if (total <= limit) {
                while (!blocks_.empty() && held_ + total > limit) {
                    evicted.push_back(blocks_.front().second);
                    held_ -= blocks_.front().first;
                    blocks_.erase(blocks_.begin());
                }
                try {
                    blocks_.emplace_back(total, block);
                    held_ += total;
                    block = nullptr;
                } catch (...) {  // no room for the entry: free the block instead
                }
            }
        }
        for (void* b : evicted) ::operator delete (b, std::align_val_t{header});
        if (block) ::operator delete (block, std::align_val_t{header});
    }

    /// Set the most bytes kept; 0 frees every cached block and keeps none.
    void set_limit(std::size_t bytes) {
        limit_.store(bytes);
        std::vector<void*> evicted;
        {
            std::lock_guard lock(mutex_);
            while (!blocks_.empty() && held_ > bytes) {
                evicted.push_back(blocks_.front().second);
                held_ -= blocks_.front().first;
                blocks_.erase(blocks_.begin());
            }
        }
        for (void* b : evicted) ::operator delete (b, std::align_val_t{header});
    }
    std::size_t limit() const noexcept { return limit_.load(); }
    std::size_t held() {
        std::lock_guard lock(mutex_);
        return held_;
    }

private:
    BlockCache() : limit_(initial_limit()) {}
    static std::size_t initial_limit() {
        if (sanitized) return 0;
        if (const char* env = std::getenv("TIERKIT_BUFFER_CACHE_MB")) {
            const long long mb = std::strtoll(env, nullptr, 10);
            return mb > 0 ? static_cast<std::size_t>(mb) << 20 : 0;
        }
        return 0;
    }
    std::mutex mutex_;
    std::vector<std::pair<std::size_t, void*>> blocks_;  ///< (size with header, block), oldest first
    std::size_t held_ = 0;
    std::atomic<std::size_t> limit_;
};

}  // namespace detail

/// The most bytes of freed output columns (Assignment's per-row columns of 1 MiB and
/// more) tierkit keeps for reuse, for the whole process. Repeated assigns over tables
/// of similar size then write into memory that is already mapped (at 10^7 rows the
/// kernel's mapping of fresh pages costs as much as scoring). Default in a C++ program:
/// 0 (off), or TIERKIT_BUFFER_CACHE_MB; the Python module calls enable_buffer_cache()
/// at import. 0 at start in sanitizer builds.
inline std::size_t buffer_cache_limit() { return detail::BlockCache::instance().limit(); }
/// Set it; 0 frees the cached blocks and turns the cache off. A host that assigns
/// large tables again and again and can spare the memory turns it on.
inline void set_buffer_cache_limit(std::size_t bytes) { detail::BlockCache::instance().set_limit(bytes); }
/// Turn the cache on with `bytes` (default 1 GiB) unless TIERKIT_BUFFER_CACHE_MB
/// sets the limit (the environment wins) or this is a sanitizer build. What the
/// Python module does at import.
inline void enable_buffer_cache(std::size_t bytes = std::size_t{1} << 30) {
    if (!detail::BlockCache::sanitized && !std::getenv("TIERKIT_BUFFER_CACHE_MB")) set_buffer_cache_limit(bytes);
}
/// Bytes held by the cache now.
inline std::size_t buffer_cache_held() { return detail::BlockCache::instance().held(); }

/// std::allocator whose value-initialization is default-initialization (no zeroing
/// of arithmetic types); construction with arguments is unchanged. Blocks of 1 MiB
/// and more come from, and return to, the block cache above.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
    using value_type = T;
    template <class U>
    struct rebind {
        using other = DefaultInitAllocator<U>;
    };
    DefaultInitAllocator() noexcept = default;
    template <class U>
    DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > (std::numeric_limits<std::size_t>::max() - detail::BlockCache::header) / sizeof(T))
            throw std::bad_array_new_length();
        if (n * sizeof(T) < detail::BlockCache::min_bytes) return std::allocator<T>::allocate(n);
        return static_cast<T*>(detail::BlockCache::instance().allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (n * sizeof(T) < detail::BlockCache::min_bytes) return std::allocator<T>::deallocate(p, n);
        detail::BlockCache::instance().deallocate(p);
    }

    template <class U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

template <class T, class U>
bool operator==(const DefaultInitAllocator<T>&, const DefaultInitAllocator<U>&) noexcept {
    return true;
}

template <class T>
using Column = std::vector<T, DefaultInitAllocator<T>>;

/// Element-wise equality with a plain std::vector (found by argument-dependent lookup).
template <class T>
bool operator==(const Column<T>& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

/// A column of n rows set to `value` by parallel ranges (the pages are first touched
/// by the threads that will later write the same rows).
template <class T>
Column<T> filled_column(std::size_t n, T value) {
    Column<T> c(n);
    parallel_for(n, [&](std::size_t begin, std::size_t end) { std::fill(c.data() + begin, c.data() + end, value); });
    return c;
}

/// A copy of `values` made by parallel ranges.
template <class T>
Column<T> column_copy(std::span<const T> values) {
    Column<T> c(values.size());
    parallel_for(values.size(), [&](std::size_t begin, std::size_t end) {
        std::copy(values.data() + begin, values.data() + end, c.data() + begin);
    });
    return c;
}

/// Read-only views of several score columns, made from any vector of vectors (plain
/// std::vector<double> or Column<double>). Holds spans: the vectors must outlive it.
class ScoreViews {
public:
    ScoreViews() = default;
    template <class A>
    ScoreViews(const std::vector<std::vector<double, A>>& scores) {  // NOLINT: implicit on purpose
        views_.reserve(scores.size());
        for (const auto& s : scores) views_.emplace_back(s);
    }
    std::size_t size() const noexcept { return views_.size(); }
    bool empty() const noexcept { return views_.empty(); }
    std::span<const double> operator[](std::size_t k) const { return views_[k]; }
    auto begin() const noexcept { return views_.begin(); }
    auto end() const noexcept { return views_.end(); }

private:
    std::vector<std::span<const double>> views_;
};

}  // namespace tierkit
