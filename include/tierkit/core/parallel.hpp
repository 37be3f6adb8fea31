#pragma once
/// @file core/parallel.hpp
/// The one fork-join of tierkit: every row-parallel loop runs through parallel_for
/// (or fork_join, its task form).
///
/// Design notes
/// - Threads. Work runs on one process-wide pool of worker threads, started the
///   first time a call needs them and kept for the life of the process: a service
///   that calls assign() in a loop starts no threads after the first calls. The
///   pool grows to the largest thread count a call asked for (at most 255 workers)
///   and never shrinks; idle workers sleep on a condition variable.
/// - Thread count. Per call: the `threads` argument when not 0, else num_threads(),
///   which is the process-wide set_num_threads(n) override when set, then
///   TIERKIT_NUM_THREADS when set (>= 1), else std::thread::hardware_concurrency().
/// - Results. Work is split into fixed contiguous ranges (tasks) that depend only on
///   the row count, the grain and the thread count, never on which thread runs a
///   task; each range writes only its own outputs, so results are bit-identical at
///   any thread count for code that does not combine ranges in a thread-dependent
///   order.
/// - Exceptions. An exception thrown by any task, the caller's own share included,
///   is caught; once every task of the call has finished, the first one by task
///   order is rethrown in the caller. Nothing calls std::terminate.
/// - Progress. The caller never only waits: it runs tasks of its own call until none
///   is left unclaimed, then waits for the tasks already running. So calls from
///   many threads at once, and parallel_for nested inside a task, cannot deadlock,
///   even when every worker is busy (the caller then runs its whole call itself).
/// - fork(). A child process gets a fresh pool (its parent's workers do not exist
///   in it).
///
/// Thread safety: every function here may be called from any thread at any time.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace tierkit {

namespace detail {
/// The set_num_threads override; 0 = none.
inline std::atomic<unsigned> thread_override{0};
/// The calling thread's ThreadLimit; 0 = none.
inline thread_local unsigned call_threads = 0;
}  // namespace detail

/// The most threads one call uses (the caller plus 255 pool workers).
inline constexpr unsigned max_threads = 256;

/// Set the threads tierkit uses for row-parallel work, for the whole process (it
/// takes precedence over TIERKIT_NUM_THREADS); 0 removes the override. Values above
/// max_threads are capped. Results do not depend on it, only the speed does.
inline void set_num_threads(unsigned n) noexcept { detail::thread_override.store(std::min(n, max_threads)); }

/// While alive, the parallel_for calls made by the thread that built it use `n`
/// threads (capped at max_threads; 0 leaves the count as it is), whatever
/// set_num_threads or TIERKIT_NUM_THREADS say: a per-call thread count
/// (AssignOptions::threads). Other threads are not affected.
class ThreadLimit {
public:
    explicit ThreadLimit(unsigned n) noexcept : saved_(detail::call_threads) {
        if (n) detail::call_threads = std::min(n, max_threads);
    }
    ~ThreadLimit() { detail::call_threads = saved_; }
    ThreadLimit(const ThreadLimit&) = delete;
    ThreadLimit& operator=(const ThreadLimit&) = delete;

private:
    unsigned saved_;
};

/// Threads tierkit uses for row-parallel work when a call does not say: the calling
/// thread's ThreadLimit when one is alive, then the values below.
inline unsigned num_threads() {
    if (const unsigned call = detail::call_threads) return call;
    if (const unsigned forced = detail::thread_override.load()) return forced;
    if (const char* env = std::getenv("TIERKIT_NUM_THREADS")) {
        const long v = std::strtol(env, nullptr, 10);
        if (v >= 1) return static_cast<unsigned>(std::min<long>(v, max_threads));
    }
    return std::clamp(std::thread::hardware_concurrency(), 1u, max_threads);
}

/// The same as num_threads() (the name the Python API uses).
inline unsigned get_num_threads() { return num_threads(); }

namespace detail {

/// One fork_join call: `tasks` calls of run(context, task), claimed by index.
struct ForkJoinCall {
    void (*run)(void* context, unsigned task) = nullptr;
    void* context = nullptr;
    unsigned tasks = 0;
    std::atomic<unsigned> next{0};  ///< the next unclaimed task
    std::atomic<unsigned> left{0};  ///< tasks not finished
    std::vector<std::exception_ptr> errors;
    std::mutex mutex;
    std::condition_variable finished;

    /// Claim and run one task; false when none is left unclaimed.
    bool run_one() noexcept {
        const unsigned t = next.fetch_add(1, std::memory_order_relaxed);
        if (t >= tasks) return false;
        try {
            run(context, t);
        } catch (...) {
            errors[t] = std::current_exception();
        }
        if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard lock(mutex);
            finished.notify_all();
        }
        return true;
    }
};

/// The process-wide worker pool (see the design notes above).
class WorkerPool {
public:
    /// The pool of this process (a new one after fork()).
    static WorkerPool& instance() {
        static std::atomic<WorkerPool*> current{nullptr};
        static std::mutex creating;
        WorkerPool* p = current.load(std::memory_order_acquire);
        if (p && p->pid_ == ::getpid()) return *p;
        std::lock_guard lock(creating);
        p = current.load(std::memory_order_acquire);
        if (!p || p->pid_ != ::getpid()) {
            // Never deleted: workers may still be finishing a call while static
            // destructors run, and after fork() the parent's pool must not be joined.
            p = new WorkerPool();
            current.store(p, std::memory_order_release);
        }
        return *p;
    }

    /// Offer `call` to up to `helpers` workers, starting workers as needed.
    void offer(const std::shared_ptr<ForkJoinCall>& call, unsigned helpers) {
        {
            std::lock_guard lock(mutex_);
            while (workers_ < helpers && workers_ < max_threads - 1) {
                std::thread(&WorkerPool::work, this).detach();
                ++workers_;
            }
            for (unsigned h = 0; h < helpers; ++h) queue_.push_back(call);
        }
        if (helpers == 1)
            wake_.notify_one();
        else
            wake_.notify_all();
    }

    /// Workers started so far.
    unsigned workers() {
        std::lock_guard lock(mutex_);
        return workers_;
    }

private:
    WorkerPool() : pid_(::getpid()) {}

    void work() {
        for (;;) {
            std::shared_ptr<ForkJoinCall> call;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return !queue_.empty(); });
                call = std::move(queue_.front());
                queue_.pop_front();
            }
            while (call->run_one()) {
            }
        }
    }

    const pid_t pid_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<ForkJoinCall>> queue_;
    unsigned workers_ = 0;
};

}  // namespace detail

/// Call fn(task) for every task in [0, tasks), on up to `threads` threads (the
/// caller's included; 0 = num_threads()). Tasks may run in any order and on any
/// thread; the caller returns when all have finished. Without other threads (one
/// thread, or one task) the tasks run in order on the caller and the first
/// exception ends the call.
/// @throws the first exception (by task order) thrown by fn, after every task ended.
template <class Fn>
void fork_join(unsigned tasks, Fn&& fn, unsigned threads = 0) {
    if (tasks == 0) return;
    if (threads == 0) threads = num_threads();
    threads = std::min({threads, tasks, max_threads});
    if (threads <= 1) {
        for (unsigned t = 0; t < tasks; ++t) fn(t);
        return;
    }
    auto call = std::make_shared<detail::ForkJoinCall>();
    call->run = [](void* context, unsigned t) { (*static_cast<std::remove_reference_t<Fn>*>(context))(t); };
    call->context = const_cast<void*>(static_cast<const void*>(std::addressof(fn)));
    call->tasks = tasks;
    call->left.store(tasks, std::memory_order_relaxed);
    call->errors.resize(tasks);
    detail::WorkerPool::instance().offer(call, threads - 1);
    while (call->run_one()) {
    }
    if (call->left.load(std::memory_order_acquire) != 0) {
        std::unique_lock lock(call->mutex);
        call->finished.wait(lock, [&] { return call->left.load(std::memory_order_acquire) == 0; });
    }
    // Every task ended, so no worker touches the errors again: take them, so that the
    // exceptions are released here, not by a worker dropping its last reference to
    // the call later.
    const std::vector<std::exception_ptr> errors = std::move(call->errors);
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
}

/// Call fn(begin, end) over [0, n) in contiguous ranges of at least `grain` rows,
/// on up to `threads` threads (0 = num_threads()). The ranges depend only on n,
/// grain and the thread count.
/// @throws the first exception (by range order) thrown by fn, after every range ended.
template <class Fn>
void parallel_for(std::size_t n, Fn&& fn, std::size_t grain = std::size_t{1} << 16, unsigned threads = 0) {
    if (threads == 0) threads = num_threads();
    const std::size_t ranges = std::min<std::size_t>(
        std::min(threads, max_threads), (n + std::max<std::size_t>(grain, 1) - 1) / std::max<std::size_t>(grain, 1));
    if (ranges <= 1) {
        fn(std::size_t{0}, n);
        return;
    }
    fork_join(
        static_cast<unsigned>(ranges), [&](unsigned r) { fn(n * r / ranges, n * (r + 1) / ranges); },
        static_cast<unsigned>(ranges));
}

}  // namespace tierkit
