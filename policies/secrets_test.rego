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

_with(doc, patch) := object.union(doc, {"model": patch})

test_credentials_in_free_text_args_and_urls_block if {
	cases := [
		[{"card": {"summary": "Call it with token ghp_0123456789abcdefghijKLMNOP."}}, ["model", "card", "summary"]],
		[{"card": {"limitations": "aws key AKIAIOSFODNN7EXAMPLE in the notebook"}}, ["model", "card", "limitations"]],
		[{"training": {"steps": {"train": {"command": ["train"], "args": ["--db", "postgres://ml:hunter2@db:5432/x"]}}}}, ["model", "training", "steps", "train", "args", 1]],
		[{"monitoring": {"runbookUrl": "https://bot:s3cret@wiki.acme.example/runbook"}}, ["model", "monitoring", "runbookUrl"]],
		[{"metadata": {"description": "-----BEGIN OPENSSH PRIVATE KEY----- ..."}}, ["model", "metadata", "description"]],
		[{"card": {"caveats": "slack xoxb-1234567890-abcdef"}}, ["model", "card", "caveats"]],
		[{"metadata": {"labels": {"billing": "sk_live_0123456789abcdefABCD"}}}, ["model", "metadata", "labels", "billing"]],
		[{"metadata": {"labels": {"billing": "RK_LIVE_0123456789ABCDEFabcd"}}}, ["model", "metadata", "labels", "billing"]],
		[{"monitoring": {"runbookUrl": "HTTPS://Bot:S3cret@wiki.acme.example/runbook"}}, ["model", "monitoring", "runbookUrl"]],
	]
	every case in cases {
		[v.path | some v in secrets.deny] == [case[1]] with input as _with(f.prod, case[0])
	}
}

test_urls_without_credentials_and_prose_pass if {
	doc := _with(f.prod, {
		"monitoring": {"runbookUrl": "https://wiki.acme.example/runbooks/churn?tab=alerts"},
		"card": {"summary": "Tokenizes text; keys are rotated by the platform team. See s3://acme-models/churn/7."},
	})
	count(secrets.deny) == 0 with input as doc
}

test_env_values_are_left_to_the_env_rule if {
	doc := _with(f.dev, {"serving": {"env": {"SETTING": "ghp_0123456789abcdefghijKLMNOP"}}})
	f.ids(secrets.deny) == {"MP-SEC-002"} with input as doc
}
