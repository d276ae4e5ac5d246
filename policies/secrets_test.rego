package modelplane.secrets_test

import data.modelplane.secrets
import data.modelplane_fixtures as f

test_secret_named_variable_blocks if {
	doc := object.union(f.dev, {"model": {"serving": {"env": {"DB_PASSWORD": "hunter2"}}}})
	{v.path | some v in secrets.deny} == {"model.serving.env.DB_PASSWORD"} with input as doc
}

test_secret_looking_values_block if {
	every value in ["AKIAIOSFODNN7EXAMPLE", "-----BEGIN RSA PRIVATE KEY-----", "ghp_abc", "xoxb-123", "dGhpcyBpcyBhIHZlcnkgbG9uZyBzZWNyZXQgdmFsdWU="] {
		f.ids(secrets.deny) == {"MP-SEC-002"} with input as object.union(f.dev, {"model": {"serving": {"env": {"SETTING": value}}}})
	}
}

test_plain_settings_pass if {
	doc := object.union(f.dev, {"model": {"serving": {"env": {"LOG_LEVEL": "info", "FORECAST_HORIZON_DAYS": "14"}}}})
	count(secrets.deny) == 0 with input as doc
}
