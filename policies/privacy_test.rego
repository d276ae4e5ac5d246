package modelplane.privacy_test

import data.modelplane.privacy
import data.modelplane_fixtures as f

test_pii_without_encryption_at_rest_blocks if {
	doc := object.union(f.dev, {"model": {"data": {"encryption": {"atRest": false}}}})
	{v.path | some v in privacy.deny} == {"model.data.encryption.atRest"} with input as doc
}

test_phi_without_owner_blocks if {
	doc := object.union(f.dev, {"model": {"data": {"classification": ["phi"], "owner": null}}})
	f.ids(privacy.deny) == {"MP-DATA-002"} with input as doc
}

test_internal_data_needs_nothing if {
	doc := object.union(f.prod, {"model": {"data": {"classification": ["internal"], "owner": null, "encryption": {"atRest": false, "inTransit": false}}}})
	count(privacy.deny) == 0 with input as doc
}

test_encrypted_owned_pii_passes if {
	count(privacy.deny) == 0 with input as f.prod
}
