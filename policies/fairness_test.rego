package modelplane.fairness_test

import data.modelplane.fairness
import data.modelplane_fixtures as f

test_protected_attributes_without_bound_block_staging if {
	doc := object.union(f.staging, {"model": {"monitoring": {"fairness": null}}})
	f.ids(fairness.deny) == {"MP-FAIR-001"} with input as doc
}

test_protected_attributes_without_bound_warn_in_dev if {
	doc := object.union(f.dev, {"model": {"monitoring": {"fairness": null}}})
	count(fairness.deny) == 0 with input as doc
	f.ids(fairness.warn) == {"MP-FAIR-001"} with input as doc
}

test_unmonitored_attribute_warns if {
	doc := object.union(f.prod, {"model": {"data": {"protectedAttributes": ["gender", "age_band"]}}})
	count(fairness.deny) == 0 with input as doc
	{v.msg | some v in fairness.warn} == {"protected attribute age_band is not monitored for fairness"} with input as doc
}

test_no_protected_attributes_needs_no_bound if {
	doc := object.union(f.prod, {"model": {"data": {"protectedAttributes": []}, "monitoring": {"fairness": null}}})
	count(fairness.deny) == 0 with input as doc
}

test_monitored_attributes_pass if {
	count(fairness.deny) == 0 with input as f.prod
	count(fairness.warn) == 0 with input as f.prod
}
