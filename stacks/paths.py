"""Where the project's files live, importable without CDK Terrain: the CLI reads these paths in
processes that never load the CDK library (orchestration/terraform/synth.py synthesizes in a child)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EMR_TEMPLATE = PROJECT_ROOT / "assets" / "service-catalog" / "emr-cluster.cfn.yaml"
STATE_DIR = PROJECT_ROOT / ".state"
