"""SM-3 cross-account cluster discovery: one mapping of EMR account id to assumable role ARN
feeds both the Studio Classic lifecycle script and the JupyterLab EMR settings."""

from __future__ import annotations

import base64
import json

DISCOVERY_DIRECTORY = "/home/sagemaker-user/.cross-account-configuration-DO_NOT_DELETE"
DISCOVERY_FILE_NAME = "emr-discovery-iam-role-arns-DO_NOT_DELETE.json"
DISCOVERY_FILE = f"{DISCOVERY_DIRECTORY}/{DISCOVERY_FILE_NAME}"


def discovery_json(role_arns_by_account: dict[str, str]) -> str:
    """The file Studio Classic's Jupyter server reads: {"<emr-account-id>": "<role-arn>", ...}."""
    return json.dumps(dict(sorted(role_arns_by_account.items())), indent=2)


def classic_lifecycle_script(role_arns_by_account: dict[str, str]) -> str:
    """The JupyterServer lifecycle script: rewrites the discovery file at every server start,
    so a user's edits never outlive a restart (seed 003)."""
    return "\n".join(
        [
            "#!/bin/bash",
            "# Written by studio-emr-infra (SM-3): tells Studio which role to assume in each EMR account.",
            "set -eux",
            f'FILE_DIRECTORY="{DISCOVERY_DIRECTORY}"',
            f'FILE_NAME="{DISCOVERY_FILE_NAME}"',
            'FILE="$FILE_DIRECTORY/$FILE_NAME"',
            'mkdir -p "$FILE_DIRECTORY"',
            'cat > "$FILE" <<- "EOF"',
            discovery_json(role_arns_by_account),
            "EOF",
            "",
        ]
    )


def encoded(script: str) -> str:
    """SageMaker takes lifecycle configuration content base64-encoded."""
    return base64.b64encode(script.encode("utf-8")).decode("ascii")
