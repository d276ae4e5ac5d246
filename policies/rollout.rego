package modelplane.rollout

import data.modelplane_lib

# serving.trafficClass, lowest first; an environment names the lowest class it holds to account.
class_rank := {"low": 0, "standard": 1, "high": 2, "critical": 3}

# A new version meets live traffic a piece at a time, with an analysis that can stop it.
progressive := {"canary", "blueGreen", "shadow", "abTest"}

# Strategies run by an Argo Rollout, whose analysis the spec sets in serving.rollout.analysis.
analysed_by_rollout := {"canary", "blueGreen", "shadow"}

default threshold_rank := 0

threshold_rank := class_rank[input.environment.delivery.requireAnalysisFrom]

default model_rank := 1

model_rank := class_rank[input.model.serving.trafficClass]

strategy := input.model.serving.rollout.strategy

# In prod, every model at or above the environment's class (every model when it names none).
needs_analysis if {
	modelplane_lib.is_prod
	model_rank >= threshold_rank
}

# METADATA
# title: Progressive delivery in prod
# description: >-
#   A prod model at or above the traffic class the environment names (delivery.requireAnalysisFrom)
#   reaches live traffic a piece at a time: canary, blue/green, shadow or A/B, never all at once.
# custom:
#   id: MP-ROLL-001
#   severity: high
#   remediation: Set serving.rollout.strategy to canary with steps (for example 5, 25, 50, 100), or blueGreen.
deny contains v if {
	needs_analysis
	not strategy in progressive
	v := {
		"id": "MP-ROLL-001",
		"msg": sprintf("prod rollout strategy is %s; a %s model in prod needs canary, blueGreen, shadow or abTest", [strategy, object.get(input.model.serving, "trafficClass", "standard")]),
		"path": "model.serving.rollout.strategy",
	}
}

# METADATA
# title: Analysis in prod
# description: A prod canary, blue/green or shadow on Kubernetes needs Prometheus analysis so a bad version aborts and rolls back.
# custom:
#   id: MP-ROLL-002
#   severity: high
#   remediation: Add serving.rollout.analysis with maxErrorRate (and maxLatencyP99Ms, qualityGates).
deny contains v if {
	needs_analysis
	input.model.serving.backend == "kubernetes"
	strategy in analysed_by_rollout
	modelplane_lib.unset(input.model.serving.rollout, "analysis")
	v := {
		"id": "MP-ROLL-002",
		"msg": sprintf("prod %s has no analysis, so a bad version would not roll back by itself", [strategy]),
		"path": "model.serving.rollout.strategy",
	}
}

# METADATA
# title: Shadow before canary
# description: >-
#   Where the environment lists a model's data class in delivery.shadowFirst, its canary starts by
#   shadowing live traffic (serving.rollout.shadow): the new version's answers are compared, never served.
# custom:
#   id: MP-ROLL-003
#   severity: high
#   remediation: Add serving.rollout.shadow with mirrorPercent and duration to the canary, or waive it with a reason.
deny contains v if {
	strategy == "canary"
	some class in input.model.data.classification
	class in object.get(input.environment, ["delivery", "shadowFirst"], [])
	modelplane_lib.unset(input.model.serving.rollout, "shadow")
	v := {
		"id": "MP-ROLL-003",
		"msg": sprintf("%s holds %s data: %s canaries start with a shadow phase", [input.model.metadata.name, class, input.environment.name]),
		"path": "model.serving.rollout.strategy",
	}
}

# METADATA
# title: Exact canary weights in prod
# description: Without traffic routing a canary's weight is its share of pods, not of requests (a 5 % step on 3 replicas sends a third).
# custom:
#   id: MP-ROLL-004
#   severity: medium
#   remediation: Set serving.rollout.trafficRouting with provider istio and a host; environment defaults can set it for all models.
warn contains v if {
	modelplane_lib.is_prod
	input.model.serving.backend == "kubernetes"
	strategy == "canary"
	modelplane_lib.unset(input.model.serving.rollout, "trafficRouting")
	v := {
		"id": "MP-ROLL-004",
		"msg": "prod canary without traffic routing: its weights are shares of pods, not exact shares of requests",
		"path": "model.serving.rollout.strategy",
	}
}

_variant_b_problem(b) := "is not in the MLflow registry (modelplane.lock)" if not b.found

_variant_b_problem(b) := "is not approved (tag approval=approved)" if {
	b.found
	not b.approved
}

# METADATA
# title: A/B variant B registered and approved in prod
# description: The second version an A/B test serves to real users meets the same registry facts as registry.version.
# custom:
#   id: MP-ROLL-005
#   severity: high
#   remediation: Register and approve variant B's version in MLflow, then run `modelplane lock`.
deny contains v if {
	modelplane_lib.is_prod
	b := input.registry.abTest
	problem := _variant_b_problem(b)
	v := {
		"id": "MP-ROLL-005",
		"msg": sprintf("A/B variant B, %s v%d, %s", [b.name, b.version, problem]),
		"path": "model.serving.rollout.abTest.version",
	}
}
