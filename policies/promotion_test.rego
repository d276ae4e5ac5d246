package modelplane.promotion_test

import data.modelplane.promotion

env(profile, upstream, soak) := {
	"name": profile, "policyProfile": profile, "promotesFrom": upstream,
	"limits": {"minSoakHours": soak},
}

doc(profile, facts) := {
	"environment": env(profile, "staging", 24),
	"registry": {"name": "churn", "version": 8},
	"promotion": facts,
}

ran_upstream := {"history": true, "upstream": "staging", "ranUpstream": true, "ranHereBefore": false, "soakedHours": 30}

ids(set) := {v.id | some v in set}

test_in_order_and_soaked_passes if {
	count(promotion.deny) == 0 with input as doc("prod", ran_upstream)
}

test_skipping_upstream_blocks if {
	facts := object.union(ran_upstream, {"ranUpstream": false, "soakedHours": 0})
	ids(promotion.deny) == {"MP-PROM-002"} with input as doc("prod", facts)
}

test_rollback_to_a_version_that_ran_here_passes if {
	facts := object.union(ran_upstream, {"ranUpstream": false, "ranHereBefore": true})
	count(promotion.deny) == 0 with input as doc("prod", facts)
}

test_short_soak_blocks if {
	facts := object.union(ran_upstream, {"soakedHours": 3.5})
	ids(promotion.deny) == {"MP-PROM-003"} with input as doc("prod", facts)
}

test_no_history_blocks if {
	ids(promotion.deny) == {"MP-PROM-001"} with input as doc("staging", {"history": false, "reason": "not a git repository"})
}

test_dev_and_first_environment_are_free if {
	count(promotion.deny) == 0 with input as doc("dev", {"history": false})
	count(promotion.deny) == 0 with input as object.union(doc("prod", {"history": false}), {"environment": {"promotesFrom": null}})
}
