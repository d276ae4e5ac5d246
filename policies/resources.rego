package modelplane.resources

import data.modelplane_lib

_missing contains [kind, name] if {
	some kind in ["requests", "limits"]
	some name in ["cpu", "memory"]
	modelplane_lib.unset(object.get(input.model.serving.resources, kind, {}), name)
}

_violation(kind, name) := {
	"id": "MP-RES-001",
	"msg": sprintf("serving %s.%s is not set", [kind, name]),
	"path": sprintf("model.serving.resources.%s.%s", [kind, name]),
}

# METADATA
# title: Serving requests and limits set
# description: Staging and prod pods need CPU and memory requests and limits so scheduling and cost are predictable.
# custom:
#   id: MP-RES-001
#   severity: medium
#   remediation: Set serving.resources.requests and .limits for cpu and memory.
deny contains v if {
	modelplane_lib.is_strict
	some [kind, name] in _missing
	v := _violation(kind, name)
}

warn contains v if {
	not modelplane_lib.is_strict
	some [kind, name] in _missing
	v := _violation(kind, name)
}

# METADATA
# title: Training requests set
# description: Training pods should request CPU and memory.
# custom:
#   id: MP-RES-002
#   severity: low
#   remediation: Set training.resources.requests for cpu and memory.
warn contains v if {
	input.model.training
	some name in ["cpu", "memory"]
	modelplane_lib.unset(object.get(input.model.training.resources, "requests", {}), name)
	v := {
		"id": "MP-RES-002",
		"msg": sprintf("training requests.%s is not set", [name]),
		"path": sprintf("model.training.resources.requests.%s", [name]),
	}
}
