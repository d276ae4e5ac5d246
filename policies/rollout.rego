package modelplane.rollout

import data.modelplane_lib

# METADATA
# title: Canary rollout in prod
# description: Prod changes reach a small share of traffic first (the 5 % canary) and roll back by themselves.
# custom:
#   id: MP-ROLL-001
#   severity: high
#   remediation: Set serving.rollout.strategy to canary with steps (for example 5, 25, 50, 100).
deny contains v if {
	modelplane_lib.is_prod
	input.model.serving.rollout.strategy != "canary"
	v := {
		"id": "MP-ROLL-001",
		"msg": sprintf("prod rollout strategy is %s; prod needs a canary", [input.model.serving.rollout.strategy]),
		"path": "model.serving.rollout.strategy",
	}
}

# METADATA
# title: Canary analysis in prod
# description: A prod canary on Kubernetes needs Prometheus analysis so a bad version aborts and rolls back.
# custom:
#   id: MP-ROLL-002
#   severity: high
#   remediation: Add serving.rollout.analysis with maxErrorRate (and maxLatencyP99Ms).
deny contains v if {
	modelplane_lib.is_prod
	input.model.serving.backend == "kubernetes"
	input.model.serving.rollout.strategy == "canary"
	modelplane_lib.unset(input.model.serving.rollout, "analysis")
	v := {
		"id": "MP-ROLL-002",
		"msg": "prod canary has no analysis, so a bad version would not roll back by itself",
		"path": "model.serving.rollout",
	}
}
