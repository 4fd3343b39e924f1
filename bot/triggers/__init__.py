"""Trigger rules: one module per rule; `registry` finds them."""
