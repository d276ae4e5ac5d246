"""The static HTML catalog (`modelplane docs build`): Jinja2 templates with autoescape on."""
