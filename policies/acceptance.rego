package modelplane.acceptance

# METADATA
# title: Acceptance threshold not below the environment's minimum
# description: Retrained versions register only above the environment's minimum acceptance.
# custom:
#   id: MP-ACC-001
#   severity: high
#   remediation: Raise training.acceptance.min to at least the environment's limits.minAcceptance.
deny contains v if {
	threshold := input.model.training.acceptance.min
	minimum := input.environment.limits.minAcceptance
	threshold < minimum
	v := {
		"id": "MP-ACC-001",
		"msg": sprintf("acceptance %s >= %v is below %s's minimum of %v", [input.model.training.acceptance.metric, threshold, input.environment.name, minimum]),
		"path": "model.training.acceptance.min",
	}
}
