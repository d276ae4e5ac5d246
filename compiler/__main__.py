from modelplane.cli import entry

entry()
