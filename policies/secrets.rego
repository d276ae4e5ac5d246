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
