#pragma once
/// @file parallel.hpp
/// Moved to tierkit/core/parallel.hpp; this path goes when no source includes it.
#include "tierkit/core/parallel.hpp"
