package modelplane_engine_test

import data.modelplane_engine
import data.modelplane_fixtures as f

_blank_owners := object.union(f.prod, {"model": {"metadata": {"owners": [" "]}}})

test_each_listed_package_reports_its_rule_sets if {
	out := modelplane_engine.results with input as {"packages": [["ownership"], ["images"]], "items": {"a": _blank_owners}}
	object.keys(out.a.packages) == {"modelplane.ownership"}
	ownership := out.a.packages["modelplane.ownership"]
	ownership.deny.set
	ownership.deny.type == "set"
	{v.id | some v in ownership.deny.value} == {"MP-OWN-001", "MP-OWN-003"}
	not ownership.warn # empty sets are left out
}

test_every_item_is_evaluated_with_its_own_input if {
	out := modelplane_engine.results with input as {"packages": [["ownership"]], "items": {"bad": _blank_owners, "good": f.prod}}
	count(out.bad.packages["modelplane.ownership"].deny.value) == 2
	not out.good.packages["modelplane.ownership"]
}

test_a_package_without_rules_reports_none if {
	out := modelplane_engine.results with input as {"packages": [["no", "such"]], "items": {"a": f.prod}}
	out.a.packages == {}
}

test_nested_and_root_packages_are_reached if {
	rule := {"id": "X", "msg": "m"}
	out := modelplane_engine.results with input as {"packages": [[], ["a", "b", "c", "d", "e"]], "items": {"a": f.prod}}
		with data.modelplane.deny as {rule}
		with data.modelplane.a.b.c.d.e.warn as {rule}
	out.a.packages.modelplane.deny.value == {rule}
	out.a.packages["modelplane.a.b.c.d.e"].warn.value == {rule}
}

test_a_rule_that_is_not_a_set_is_reported_as_such if {
	out := modelplane_engine.results with input as {"packages": [["frozen"]], "items": {"a": f.prod}}
		with data.modelplane.frozen.deny as true
	out.a.packages["modelplane.frozen"].deny == {"set": false, "type": "boolean", "value": true}
}

test_the_card_score_comes_along if {
	out := modelplane_engine.results with input as {"packages": [], "items": {"a": f.prod}}
	out.a.card.score == 100
}
