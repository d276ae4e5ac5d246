package modelplane.promotion

import data.modelplane_lib

# input.promotion comes from the git history of rendered/<env>/ (see README, "Promotion"):
# what the upstream environment has run and since when, and what this environment ran before.
promotes if {
	modelplane_lib.is_strict
	input.environment.promotesFrom != null
}

# METADATA
# title: Promotion facts available
# description: Staging and prod decide promotion from git history; without it the gate cannot tell what ran upstream.
# custom:
#   id: MP-PROM-001
#   severity: high
#   remediation: Run the check in a git clone with full history (actions/checkout with fetch-depth 0).
deny contains v if {
	promotes
	not input.promotion.history
	v := {
		"id": "MP-PROM-001",
		"msg": sprintf("no git history to decide promotion from (%s)", [object.get(input.promotion, "reason", "unknown")]),
		"path": "model.registry.version",
	}
}

# METADATA
# title: Promoted from upstream
# description: A version reaches staging or prod only after it ran in the environment it promotes from; a rollback to a version this environment ran before is allowed.
# custom:
#   id: MP-PROM-002
#   severity: high
#   remediation: Promote in order with `modelplane promote MODEL --to ENV`, or roll back to a version this environment ran.
deny contains v if {
	promotes
	input.promotion.history
	not input.promotion.ranUpstream
	not input.promotion.ranHereBefore
	v := {
		"id": "MP-PROM-002",
		"msg": sprintf("%s v%d never ran in %s; promote it there first", [input.registry.name, input.registry.version, input.environment.promotesFrom]),
		"path": "model.registry.version",
	}
}

# METADATA
# title: Soaked upstream
# description: A new version runs upstream for at least limits.minSoakHours before it reaches this environment.
# custom:
#   id: MP-PROM-003
#   severity: medium
#   remediation: Wait until the version has run upstream long enough, or waive with a reason.
deny contains v if {
	promotes
	input.promotion.ranUpstream
	not input.promotion.ranHereBefore
	need := object.get(input.environment.limits, "minSoakHours", 0)
	input.promotion.soakedHours < need
	v := {
		"id": "MP-PROM-003",
		"msg": sprintf("%s v%d has run in %s for %v h; %s needs %v h", [input.registry.name, input.registry.version, input.environment.promotesFrom, input.promotion.soakedHours, input.environment.name, need]),
		"path": "model.registry.version",
	}
}
