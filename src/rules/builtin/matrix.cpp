// The value x potential grid rule's registration (its policy object is parsed in
// matrix_json.cpp; the rule is in the header).
#include "tierkit/rules/builtin/matrix.hpp"

#include "tierkit/io/archives.hpp"
#include "tierkit/rules/register.hpp"

TIERKIT_REGISTER_RULE(tierkit::MatrixRule, "matrix", tierkit::make_matrix_rule)
