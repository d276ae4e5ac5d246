package modelplane.cost

import data.modelplane_lib

_budget := input.environment.limits.budget

# METADATA
# title: CPU within the environment's budget
# description: Requests at max replicas stay within the per-model CPU budget of the environment.
# custom:
#   id: MP-COST-001
#   severity: medium
#   remediation: Lower serving.replicas.max or the CPU request, or ask the platform team for a larger budget.
deny contains v if {
	is_object(_budget)
	input.summary.maxCpuMillicores > _budget.cpuMillicores
	v := {
		"id": "MP-COST-001",
		"msg": sprintf("up to %vm CPU at max replicas exceeds %s's budget of %s", [input.summary.maxCpuMillicores, input.environment.name, _budget.cpu]),
		"path": "model.serving.replicas.max",
	}
}

# METADATA
# title: Memory within the environment's budget
# description: Requests at max replicas stay within the per-model memory budget of the environment.
# custom:
#   id: MP-COST-002
#   severity: medium
#   remediation: Lower serving.replicas.max or the memory request, or ask for a larger budget.
deny contains v if {
	is_object(_budget)
	input.summary.maxMemoryBytes > _budget.memoryBytes
	v := {
		"id": "MP-COST-002",
		"msg": sprintf("up to %v bytes of memory at max replicas exceeds %s's budget of %s", [input.summary.maxMemoryBytes, input.environment.name, _budget.memory]),
		"path": "model.serving.replicas.max",
	}
}

_spot_forbidden if modelplane_lib.is_prod

_spot_forbidden if input.environment.limits.allowSpotTraining == false

# METADATA
# title: No spot training where it is not allowed
# description: Spot/preemptible training is for dev and staging; prod retraining must finish on time.
# custom:
#   id: MP-COST-003
#   severity: medium
#   remediation: Set training.spot to false for this environment (environments.<env>.training.spot).
deny contains v if {
	input.model.training.spot == true
	_spot_forbidden
	v := {
		"id": "MP-COST-003",
		"msg": sprintf("spot training is not allowed in %s", [input.environment.name]),
		"path": "model.training.spot",
	}
}
