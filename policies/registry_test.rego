package modelplane.registry_test

import data.modelplane.registry
import data.modelplane_fixtures as f

test_unknown_version_blocks_prod if {
	f.ids(registry.deny) == {"MP-REG-001"} with input as object.union(f.prod, {"registry": {"found": false, "approved": false}})
}

test_unapproved_version_blocks_prod if {
	f.ids(registry.deny) == {"MP-REG-002"} with input as object.union(f.prod, {"registry": {"approved": false}})
}

test_approved_version_passes_prod if {
	count(registry.deny) == 0 with input as f.prod
}

test_unknown_version_warns_in_staging if {
	f.ids(registry.warn) == {"MP-REG-003"} with input as object.union(f.staging, {"registry": {"found": false}})
	count(registry.deny) == 0 with input as object.union(f.staging, {"registry": {"found": false}})
}

test_known_version_is_quiet_in_staging if {
	count(registry.warn) == 0 with input as f.staging
}

test_approval_without_an_approver_warns_in_prod if {
	f.ids(registry.warn) == {"MP-REG-004"} with input as object.union(f.prod, {"registry": {"approvedBy": " "}})
	count(registry.deny) == 0 with input as object.union(f.prod, {"registry": {"approvedBy": ""}})
}

test_recorded_approver_is_quiet_in_prod if {
	count(registry.warn) == 0 with input as object.union(f.prod, {"registry": {"approvedBy": "@acme/ml-platform"}})
}
