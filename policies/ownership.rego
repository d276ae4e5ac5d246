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
	count(object.get(input.model.metadata, "owners", [])) == 0
	v := {"id": "MP-OWN-001", "msg": "the model names no owners", "path": "model.metadata.owners"}
}

_no_pager if modelplane_lib.unset(input.model.monitoring.alertRoutes, "pagerduty")

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
