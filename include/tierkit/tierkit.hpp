#pragma once
/// @file tierkit.hpp
/// Umbrella header: everything a C++ host needs to summarize, fit and assign.
#include "tierkit/error.hpp"
#include "tierkit/features/summarize.hpp"
#include "tierkit/features/synthetic.hpp"
#include "tierkit/model.hpp"
#include "tierkit/policy.hpp"
#include "tierkit/rules/abc.hpp"
#include "tierkit/rules/quantiles.hpp"
#include "tierkit/rules/registry.hpp"
#include "tierkit/rules/rule.hpp"
#include "tierkit/rules/thresholds.hpp"
#include "tierkit/scoring/criterion.hpp"
#include "tierkit/scoring/weights.hpp"
#include "tierkit/table.hpp"
