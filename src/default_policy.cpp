// The default policy: the document tierkit fits when a caller gives none.
#include "tierkit/policy.hpp"

namespace tierkit {

Policy Policy::default_policy() {
    static const char* text = R"json({
  "name": "default",
  "description": "key / high-value / ordinary / potential customers by quotas of a value score",
  "scores": [{
    "name": "value",
    "method": "weighted_sum",
    "criteria": [
      {"column": "revenue", "direction": "higher", "transform": "log1p", "normalizer": "percentile", "weight": 0.4},
      {"column": "frequency", "direction": "higher", "normalizer": "percentile", "weight": 0.25},
      {"column": "days_since_last", "direction": "lower", "normalizer": "percentile", "weight": 0.2},
      {"column": "aov", "direction": "higher", "transform": "log1p", "normalizer": "percentile", "weight": 0.15}
    ],
    "weights": {"method": "manual"}
  }],
  "rule": {"kind": "quantiles", "score": "value", "shares": [0.05, 0.15, 0.5]},
  "tiers": [
    {"name": "key", "mode": "strategic", "description": "the few customers who carry the business",
     "actions": ["dedicated account manager", "executive sponsor", "one-to-one service", "7x24 priority support"]},
    {"name": "high-value", "mode": "cooperative", "description": "valuable customers to keep and grow",
     "actions": ["account manager", "loyalty programme", "regular business reviews"]},
    {"name": "ordinary", "mode": "transactional", "description": "regular buyers served efficiently",
     "actions": ["periodic promotions", "self-service support"]},
    {"name": "potential", "mode": "transactional", "description": "low value so far: develop or let go",
     "actions": ["nurture campaign", "first-repeat-purchase incentive"]}
  ]
})json";
    return from_json(text);
}

}  // namespace tierkit
