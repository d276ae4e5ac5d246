package modelplane.secrets

_secret_name := `(?i)(password|passwd|secret|token|api[_-]?key|credential|private[_-]?key)`

_secret_value(value) if startswith(value, "AKIA")

_secret_value(value) if startswith(value, "-----BEGIN")

_secret_value(value) if startswith(value, "ghp_")

_secret_value(value) if startswith(value, "xox")

_secret_value(value) if regex.match(`^[A-Za-z0-9+/=_-]{32,}$`, value)

# METADATA
# title: No secrets by name in plain env
# description: Variables named like secrets must come from a Secret (secretEnv), never a value in git.
# custom:
#   id: MP-SEC-001
#   severity: high
#   remediation: Move the variable to serving.secretEnv (secretName and key) and rotate the value.
deny contains v if {
	some name, _ in input.model.serving.env
	regex.match(_secret_name, name)
	v := {
		"id": "MP-SEC-001",
		"msg": sprintf("serving.env.%s looks like a secret held in plain text", [name]),
		"path": sprintf("model.serving.env.%s", [name]),
	}
}

# METADATA
# title: No secret-looking values in plain env
# description: Values shaped like keys or tokens must not be committed.
# custom:
#   id: MP-SEC-002
#   severity: high
#   remediation: Move the value into a Kubernetes Secret, reference it from serving.secretEnv, and rotate it.
deny contains v if {
	some name, value in input.model.serving.env
	_secret_value(value)
	v := {
		"id": "MP-SEC-002",
		"msg": sprintf("the value of serving.env.%s looks like a credential", [name]),
		"path": sprintf("model.serving.env.%s", [name]),
	}
}

# Credentials found anywhere inside a string: cloud keys, tokens, private keys, passwords in URLs.
# One pattern (alternatives), so each string costs one match.
_credential := concat("|", [
	`AKIA[0-9A-Z]{16}`,
	`-----BEGIN [A-Z ]*PRIVATE KEY-----`,
	`gh[pousr]_[A-Za-z0-9]{20,}`,
	`xox[abposr]-[A-Za-z0-9-]{8,}`,
	`(?i:\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@)`,
	`(?i:\b(?:sk|rk)_live_[A-Za-z0-9]{16,})`,
])

_strings contains [path, value] if {
	walk(input.model, [path, value])
	is_string(value)
}

# The fast path: one match over the whole model as JSON (which leaves every character a
# credential is made of as it is); only a hit walks the fields to say which one. The match runs
# only when a literal every credential pattern needs is there: finding a literal is a fast scan,
# the pattern (case-insensitive, with word boundaries) a slow one over a whole model.
_any_credential if {
	text := json.marshal(input.model)
	_needs_a_look(text)
	regex.match(_credential, text)
}

_needs_a_look(text) if {
	some literal in ["AKIA", "-----BEGIN ", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xox"]
	contains(text, literal)
}

# user:password@ after a scheme (any case): the scheme-less part, which starts with a literal.
_needs_a_look(text) if regex.match(`://[^/\s:@]+:[^/\s@]+@`, text)

_needs_a_look(text) if contains(lower(text), "_live_")

# serving.env values have MP-SEC-002, which also catches whole-value tokens.
_checked(path) if not path[0] == "serving"

_checked(path) if {
	path[0] == "serving"
	not path[1] == "env"
}

# METADATA
# title: No credentials in any field
# description: Every free-text field, argument and URL of the spec is searched for credentials (keys, tokens, private keys, user:password@ in URLs).
# custom:
#   id: MP-SEC-003
#   severity: high
#   remediation: Remove the credential from the spec (and from git history), rotate it, and reference a Secret instead.
deny contains v if {
	_any_credential
	some [path, value] in _strings
	_checked(path)
	regex.match(_credential, value)
	v := {"id": "MP-SEC-003", "msg": "a value looks like it contains a credential", "path": array.concat(["model"], path)}
}
