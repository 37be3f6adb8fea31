#pragma once
// What the kmeans rule's fit files share (private to src/rules/builtin/): the checks
// the fit runs. The block size of the distance kernels is kmeans_detail::block_rows
// (tierkit/rules/builtin/kmeans.hpp).
#include <cstddef>
#include <string>
#include <vector>

#include "tierkit/rules/builtin/kmeans.hpp"

namespace tierkit::kmeans_detail {

/// Throws InvalidInput naming the first non-finite value (by criterion, then row).
void check_finite(const PointColumns& x, const std::vector<std::string>& names, unsigned threads);

/// privacy.hpp: a centroid is the mean of its members, so every cluster (the rows
/// nearest its centroid) must hold at least min_group of them.
/// @throws PolicyError naming the cluster, its size and the remedies.
void check_cluster_sizes(const PointColumns& x, const std::vector<double>& centroids, std::size_t min_group);

}  // namespace tierkit::kmeans_detail
