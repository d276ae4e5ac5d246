package modelplane.fairness

import data.modelplane_lib

_protected := object.get(input.model.data, "protectedAttributes", [])

_unbounded if {
	count(_protected) > 0
	modelplane_lib.unset(input.model.monitoring, "fairness")
}

_violation := {
	"id": "MP-FAIR-001",
	"msg": sprintf("protected attributes %v are used but no fairness bound is monitored", [_protected]),
	"path": "model.data.protectedAttributes",
}

# METADATA
# title: Fairness bound for protected attributes
# description: A model that uses protected attributes monitors a fairness metric with a bound.
# custom:
#   id: MP-FAIR-001
#   severity: high
#   remediation: Add monitoring.fairness with a metric, bounds and the attributes.
deny contains _violation if {
	modelplane_lib.is_strict
	_unbounded
}

warn contains _violation if {
	not modelplane_lib.is_strict
	_unbounded
}

# METADATA
# title: Every protected attribute monitored
# description: Each protected attribute appears in monitoring.fairness.attributes.
# custom:
#   id: MP-FAIR-002
#   severity: medium
#   remediation: List the attribute under monitoring.fairness.attributes.
warn contains v if {
	fairness := input.model.monitoring.fairness
	is_object(fairness)
	some attribute in _protected
	not attribute in object.get(fairness, "attributes", [])
	v := {
		"id": "MP-FAIR-002",
		"msg": sprintf("protected attribute %s is not monitored for fairness", [attribute]),
		"path": "model.monitoring.fairness.attributes",
	}
}
