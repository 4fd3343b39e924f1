"""Check manifest.yml against Slack's app-manifest JSON Schema (shared/slack beside the clone)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"

if not SCHEMA.exists():
    sys.exit(f"Slack's manifest schema is expected at {SCHEMA}")
manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
errors = sorted(
    jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8"))).iter_errors(manifest),
    key=lambda e: list(e.path),
)
for e in errors:
    print(f"manifest.yml: {'.'.join(str(p) for p in e.path) or '(top)'}: {e.message}", file=sys.stderr)
if errors:
    sys.exit(1)
print("manifest.yml matches Slack's schema")
