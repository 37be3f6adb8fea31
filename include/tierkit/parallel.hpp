#pragma once
/// @file parallel.hpp
/// A minimal fork-join over row ranges with std::thread. Work is split into fixed
/// contiguous ranges and each range writes only its own output rows, so results
/// are bit-identical at any thread count. The thread count is, in order: the calling
/// thread's ThreadLimit when one is alive, the process-wide set_num_threads(n) override
/// when set, TIERKIT_NUM_THREADS when set
/// (>= 1), else std::thread::hardware_concurrency().
/// Exceptions thrown by a range are rethrown in the caller after every thread joined
/// (the first one by range order).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <thread>
#include <vector>

namespace tierkit {

namespace detail {
/// The set_num_threads override; 0 = none.
inline std::atomic<unsigned> thread_override{0};
/// The calling thread's ThreadLimit; 0 = none.
inline thread_local unsigned call_threads = 0;
}  // namespace detail

/// While alive, the parallel_for calls made by the thread that built it use `n`
/// threads (capped at 256; 0 leaves the count as it is), whatever set_num_threads or
/// TIERKIT_NUM_THREADS say: a per-call thread count (AssignOptions::threads). Other
/// threads are not affected.
class ThreadLimit {
public:
    explicit ThreadLimit(unsigned n) noexcept : saved_(detail::call_threads) {
        if (n) detail::call_threads = std::min(n, 256u);
    }
    ~ThreadLimit() { detail::call_threads = saved_; }
    ThreadLimit(const ThreadLimit&) = delete;
    ThreadLimit& operator=(const ThreadLimit&) = delete;

private:
    unsigned saved_;
};

/// Set the threads tierkit uses for row-parallel work, for the whole process (it
/// takes precedence over TIERKIT_NUM_THREADS); 0 removes the override. Values above
/// 256 are capped. Results do not depend on it, only the speed does.
inline void set_num_threads(unsigned n) noexcept { detail::thread_override.store(std::min(n, 256u)); }

/// Threads tierkit uses for row-parallel work.
inline unsigned num_threads() {
    if (const unsigned call = detail::call_threads) return call;
    if (const unsigned forced = detail::thread_override.load()) return forced;
    if (const char* env = std::getenv("TIERKIT_NUM_THREADS")) {
        const long v = std::strtol(env, nullptr, 10);
        if (v >= 1) return static_cast<unsigned>(std::min<long>(v, 256));
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

/// The same as num_threads() (the name the Python API uses).
inline unsigned get_num_threads() { return num_threads(); }

/// Call fn(begin, end) over [0, n) in contiguous ranges of at least `grain` rows.
template <class Fn>
void parallel_for(std::size_t n, Fn&& fn, std::size_t grain = 1 << 16) {
    const std::size_t ranges = std::min<std::size_t>(num_threads(), (n + grain - 1) / std::max<std::size_t>(grain, 1));
    if (ranges <= 1) {
        fn(std::size_t{0}, n);
        return;
    }
    std::vector<std::exception_ptr> errors(ranges);
    std::vector<std::thread> pool;
    pool.reserve(ranges - 1);
    auto run = [&](std::size_t r) {
        try {
            fn(n * r / ranges, n * (r + 1) / ranges);
        } catch (...) {
            errors[r] = std::current_exception();
        }
    };
    for (std::size_t r = 1; r < ranges; ++r) pool.emplace_back(run, r);
    run(0);
    for (auto& t : pool) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace tierkit
