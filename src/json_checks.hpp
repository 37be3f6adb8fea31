#pragma once
// Moved to include/tierkit/core/json_checks.hpp; this path goes when no source includes it.
#include "tierkit/core/json_checks.hpp"
