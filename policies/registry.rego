package modelplane.registry

import data.modelplane_lib

# METADATA
# title: Registry version known
# description: The pinned MLflow model version must exist in the registry (modelplane.lock) before prod.
# custom:
#   id: MP-REG-001
#   severity: high
#   remediation: Register the version in MLflow, then run `modelplane lock` and commit modelplane.lock.
deny contains v if {
	modelplane_lib.is_prod
	not input.registry.found
	v := {
		"id": "MP-REG-001",
		"msg": sprintf("registry version %s v%d is not in the MLflow registry (modelplane.lock)", [input.registry.name, input.registry.version]),
		"path": "model.registry.version",
	}
}

# METADATA
# title: Registry version approved
# description: Prod serves only model versions whose MLflow tag approval is "approved".
# custom:
#   id: MP-REG-002
#   severity: high
#   remediation: Have the model approved in MLflow (tag approval=approved), then run `modelplane lock`.
deny contains v if {
	modelplane_lib.is_prod
	input.registry.found
	not input.registry.approved
	v := {
		"id": "MP-REG-002",
		"msg": sprintf("registry version %s v%d is not approved (tag approval=approved)", [input.registry.name, input.registry.version]),
		"path": "model.registry.version",
	}
}

# METADATA
# title: Registry version known before staging
# description: Staging should run a version the registry knows, so prod can promote it.
# custom:
#   id: MP-REG-003
#   severity: medium
#   remediation: Register the version in MLflow and run `modelplane lock`.
warn contains v if {
	input.environment.policyProfile == "staging"
	not input.registry.found
	v := {
		"id": "MP-REG-003",
		"msg": sprintf("registry version %s v%d is not in modelplane.lock", [input.registry.name, input.registry.version]),
		"path": "model.registry.version",
	}
}

# METADATA
# title: Approver recorded
# description: A prod version's approval names who approved it (MLflow tag approved_by), so the promotion pull request and the audit trail show it.
# custom:
#   id: MP-REG-004
#   severity: low
#   remediation: Set the MLflow tags approved_by and approved_at with the approval, then run `modelplane lock`.
warn contains v if {
	modelplane_lib.is_prod
	input.registry.approved
	trim_space(object.get(input.registry, "approvedBy", "")) == ""
	v := {
		"id": "MP-REG-004",
		"msg": sprintf("registry version %s v%d is approved but not by anyone on record (no approved_by tag)", [input.registry.name, input.registry.version]),
		"path": "model.registry.version",
	}
}
