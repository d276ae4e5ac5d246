package modelplane.ownership

import data.modelplane_lib

# METADATA
# title: Owners named
# description: Every model names at least one owner.
# custom:
#   id: MP-OWN-001
#   severity: high
#   remediation: Add a GitHub team or an e-mail address to metadata.owners.
deny contains v if {
	count([owner | some owner in object.get(input.model.metadata, "owners", []); trim_space(owner) != ""]) == 0
	v := {"id": "MP-OWN-001", "msg": "the model names no owners", "path": "model.metadata.owners"}
}

# METADATA
# title: No blank owners
# description: An owner entry that is empty or only spaces names nobody and hides a missing owner.
# custom:
#   id: MP-OWN-003
#   severity: high
#   remediation: Remove the blank entry or replace it with a GitHub team or an e-mail address.
deny contains v if {
	some i, owner in object.get(input.model.metadata, "owners", [])
	trim_space(owner) == ""
	v := {"id": "MP-OWN-003", "msg": sprintf("metadata.owners[%d] is blank", [i]), "path": sprintf("model.metadata.owners[%d]", [i])}
}

_no_pager if modelplane_lib.blank(input.model.monitoring.alertRoutes, "pagerduty")

# METADATA
# title: No blank alert routes
# description: A route that is set but blank (pagerduty "") sends alerts nowhere.
# custom:
#   id: MP-OWN-004
#   severity: high
#   remediation: Set the route to a real service, channel or address, or remove the key.
deny contains v if {
	some route, target in input.model.monitoring.alertRoutes
	is_string(target)
	trim_space(target) == ""
	v := {"id": "MP-OWN-004", "msg": sprintf("alert route %s is blank", [route]), "path": sprintf("model.monitoring.alertRoutes.%s", [route])}
}

# METADATA
# title: On-call route in prod
# description: Prod alerts page a human, so the model needs a PagerDuty route.
# custom:
#   id: MP-OWN-002
#   severity: high
#   remediation: Set monitoring.alertRoutes.pagerduty to the team's on-call service.
deny contains v if {
	modelplane_lib.is_prod
	_no_pager
	v := {"id": "MP-OWN-002", "msg": "no on-call route (monitoring.alertRoutes.pagerduty) for prod alerts", "path": "model.monitoring.alertRoutes"}
}

warn contains v if {
	not modelplane_lib.is_prod
	_no_pager
	v := {"id": "MP-OWN-002", "msg": "no on-call route (prod will block)", "path": "model.monitoring.alertRoutes"}
}
