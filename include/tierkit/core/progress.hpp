#pragma once
/// @file progress.hpp
/// Progress reports from long fits: one call per k-means Lloyd iteration (with the
/// inertia and the centroid shift) and per CLV optimizer iteration (with the
/// log-likelihood).
///
/// Design notes
/// - A Progress is a plain callable the caller owns; the fits take a pointer to it,
///   null (the default) meaning no reports: the fit then pays one pointer test per
///   iteration, nothing else, and computes nothing extra for the reports.
/// - Thread safety: reports are made only from the thread that called the fit,
///   between the parallel parts of an iteration, never from worker threads; the
///   callable needs no locking of its own.
/// - Cancellation: a callable stops the fit by throwing. The exception leaves the
///   fit unchanged (nothing the fit built is kept) and reaches the fit's caller.
/// - Reports do not change results: a fit with a callable returns the same model,
///   bit for bit, as one without.
///
/// @code
/// tierkit::Progress show = [](const tierkit::ProgressStep& s) {
///     std::cerr << s.stage << " " << s.done << "/" << s.total << "\n";
/// };
/// tierkit::Model model = tierkit::fit(policy, table, &show);
/// @endcode
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tierkit {

/// A named number a step reached ("inertia", "shift", "log_likelihood").
struct ProgressValue {
    std::string_view name;
    double value = 0;
};

/// One report. The views are valid only during the call.
struct ProgressStep {
    std::string_view stage;  ///< what is running: "kmeans", "clv bg/nbd", "clv gamma-gamma"
    double done = 0;         ///< steps done in the stage so far; increases from call to call
    /// The most steps the stage may take (max_iter of every run); iterative fits
    /// usually stop earlier, when they converge. It may grow within a stage (a CLV fit
    /// moving on to another starting point), never shrink.
    double total = 0;
    std::span<const ProgressValue> values;  ///< what the latest step reached
};

/// Receives the reports of a fit. May throw to stop the fit (see the file comment).
using Progress = std::function<void(const ProgressStep&)>;

/// Call `progress` with `step` when it is given (not null and not empty).
inline void report(const Progress* progress, const ProgressStep& step) {
    if (progress && *progress) (*progress)(step);
}

/// Reports of several fits run one after another (the sub-rules of a chain, one
/// rule per group of a group_by) shown as one run per stage: each fit's done and
/// total continue from those the earlier fits of the same stage reached, so done
/// keeps increasing and total only grows. Call next() after each fit.
class SequentialProgress {
public:
    explicit SequentialProgress(const Progress* outer) : outer_(outer) {
        if (outer_ && *outer_) inner_ = [this](const ProgressStep& s) { forward(s); };
    }
    SequentialProgress(const SequentialProgress&) = delete;
    SequentialProgress& operator=(const SequentialProgress&) = delete;

    /// What to hand the next fit: null when the outer one is.
    const Progress* get() const noexcept { return inner_ ? &inner_ : nullptr; }

    /// The fit handed get() has returned: later fits continue after it.
    void next() {
        for (auto& stage : stages_) {
            stage.offset_done += stage.last_done;
            stage.offset_total += stage.last_total;
            stage.last_done = stage.last_total = 0;
        }
    }

private:
    struct Stage {
        std::string name;
        double offset_done = 0, offset_total = 0, last_done = 0, last_total = 0;
    };
    void forward(const ProgressStep& s) {
        Stage* stage = nullptr;
        for (auto& st : stages_)
            if (st.name == s.stage) stage = &st;
        if (!stage) stage = &stages_.emplace_back(Stage{std::string(s.stage)});
        stage->last_done = s.done;
        stage->last_total = s.total;
        ProgressStep out = s;
        out.done = stage->offset_done + s.done;
        out.total = stage->offset_total + s.total;
        report(outer_, out);
    }

    const Progress* outer_;
    Progress inner_;
    std::vector<Stage> stages_;
};

}  // namespace tierkit
