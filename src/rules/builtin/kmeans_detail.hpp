#pragma once
// What the kmeans rule's files share (private to src/rules/builtin/): the block size
// of the distance kernels and the checks the fit runs.
#include <cstddef>
#include <string>
#include <vector>

#include "tierkit/rules/builtin/kmeans.hpp"

namespace tierkit::kmeans_detail {

/// Rows per block: the unit of every distance computation and partial sum. Small
/// enough that a block's columns and its distances to 8 centres stay in L1.
inline constexpr std::size_t block_rows = 256;

/// Throws InvalidInput naming the first non-finite value (by criterion, then row).
void check_finite(const PointColumns& x, const std::vector<std::string>& names, unsigned threads);

/// privacy.hpp: a centroid is the mean of its members, so every cluster (the rows
/// nearest its centroid) must hold at least min_group of them.
/// @throws PolicyError naming the cluster, its size and the remedies.
void check_cluster_sizes(const PointColumns& x, const std::vector<double>& centroids, std::size_t min_group);

}  // namespace tierkit::kmeans_detail
