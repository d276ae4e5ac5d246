package modelplane.privacy

import data.modelplane_lib

_sensitive if {
	some class in input.model.data.classification
	class in {"pii", "phi"}
}

# METADATA
# title: Personal data encrypted
# description: Models that use pii or phi encrypt data at rest and in transit.
# custom:
#   id: MP-DATA-001
#   severity: high
#   remediation: Set data.encryption.atRest and data.encryption.inTransit to true (and a kmsKey).
deny contains v if {
	_sensitive
	some field in ["atRest", "inTransit"]
	object.get(input.model.data.encryption, field, false) != true
	v := {
		"id": "MP-DATA-001",
		"msg": sprintf("the model uses %s data but encryption.%s is not true", [concat("/", input.model.data.classification), field]),
		"path": sprintf("model.data.encryption.%s", [field]),
	}
}

# METADATA
# title: Data owner recorded
# description: Models that use pii or phi name who answers for the data.
# custom:
#   id: MP-DATA-002
#   severity: high
#   remediation: Set data.owner to the data owner's e-mail or handle.
deny contains v if {
	_sensitive
	modelplane_lib.unset(input.model.data, "owner")
	v := {"id": "MP-DATA-002", "msg": "the model uses personal data but names no data owner", "path": "model.data.owner"}
}
