# The Modelplane driver: evaluates every policy package under data.modelplane for a whole batch
# of inputs in one request. Query data.modelplane_engine with input {"items": {key: document}}.
package modelplane_engine

# Packages that define deny or warn rules; the compiler refuses to pass when there are none.
packages := sort([name |
	some name, pkg in data.modelplane
	is_object(pkg)
	_has_rules(pkg)
])

_has_rules(pkg) if "deny" in object.keys(pkg)

_has_rules(pkg) if "warn" in object.keys(pkg)

_deny contains v if {
	some name in packages
	some v in data.modelplane[name].deny
}

_warn contains v if {
	some name in packages
	some v in data.modelplane[name].warn
}

default _card := null

_card := data.modelplane.card.completeness

results[key] := {"deny": deny, "warn": warn, "card": card} if {
	some key, item in input.items
	deny := sort(_deny) with input as item
	warn := sort(_warn) with input as item
	card := _card with input as item
}
