package modelplane.ownership_test

import data.modelplane.ownership
import data.modelplane_fixtures as f

test_no_owners_blocks if {
	doc := object.union(f.dev, {"model": {"metadata": {"owners": []}}})
	f.ids(ownership.deny) == {"MP-OWN-001"} with input as doc
}

test_no_pager_blocks_prod if {
	doc := object.union(f.prod, {"model": {"monitoring": {"alertRoutes": {"pagerduty": null}}}})
	f.ids(ownership.deny) == {"MP-OWN-002"} with input as doc
}

test_no_pager_warns_in_staging if {
	doc := object.union(f.staging, {"model": {"monitoring": {"alertRoutes": {"pagerduty": null}}}})
	count(ownership.deny) == 0 with input as doc
	f.ids(ownership.warn) == {"MP-OWN-002"} with input as doc
}

test_owned_and_paged_passes if {
	count(ownership.deny) == 0 with input as f.prod
	count(ownership.warn) == 0 with input as f.staging
}

test_blank_owners_block if {
	doc := object.union(f.dev, {"model": {"metadata": {"owners": ["", " "]}}})
	f.ids(ownership.deny) == {"MP-OWN-001", "MP-OWN-003"} with input as doc
	{v.path | some v in ownership.deny; v.id == "MP-OWN-003"} == {"model.metadata.owners[0]", "model.metadata.owners[1]"} with input as doc
}

test_one_blank_owner_among_real_ones_blocks if {
	doc := object.union(f.prod, {"model": {"metadata": {"owners": ["@acme/growth-ds", "\t"]}}})
	f.ids(ownership.deny) == {"MP-OWN-003"} with input as doc
}

test_blank_pager_blocks_prod if {
	every route in ["", "  "] {
		doc := object.union(f.prod, {"model": {"monitoring": {"alertRoutes": {"pagerduty": route}}}})
		f.ids(ownership.deny) == {"MP-OWN-002", "MP-OWN-004"} with input as doc
	}
}

test_blank_route_blocks_everywhere if {
	doc := object.union(f.dev, {"model": {"monitoring": {"alertRoutes": {"pagerduty": " "}}}})
	f.ids(ownership.deny) == {"MP-OWN-004"} with input as doc
	f.ids(ownership.warn) == {"MP-OWN-002"} with input as doc
}
