"""Renderers: one module per target, each a pure function from a resolved spec to outputs."""
