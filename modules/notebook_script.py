"""The on-start script of SM-5's Classic notebook instances (modules/notebook.py) and the paths
it writes: plain text and data, no CDK, so the journey and its sandboxed run of the script
(orchestration/aws/notebook.py) load no CDK library.
"""

from __future__ import annotations

import json
from typing import Mapping

LIVY_PORT = 8998
# A notebook instance runs lifecycle scripts as root with this user's home (API reference,
# NotebookInstanceLifecycleHook; AWS's lifecycle samples).
NOTEBOOK_USER = "ec2-user"
NOTEBOOK_HOME = f"/home/{NOTEBOOK_USER}"
SPARKMAGIC_CONFIG = f"{NOTEBOOK_HOME}/.sparkmagic/config.json"
# The conda environment of the notebook's Jupyter server has boto3; the system python3 may not.
JUPYTER_SYSTEM_PYTHON = f"{NOTEBOOK_HOME}/anaconda3/envs/JupyterSystemEnv/bin/python"
# NotebookInstanceLifecycleHook.Content: at most 16384 characters, base64-encoded.
MAX_HOOK_CHARS = 16384
# Lifecycle scripts that run longer than 5 minutes fail the notebook's start; stay well inside.
SCRIPT_TIMEOUT_SECONDS = 240
CLUSTER_ID_VARIABLE = "EMR_CLUSTER_ID"

_FINDER = r'''
import json
import os
import sys

import boto3
import botocore.exceptions
from botocore.config import Config

ACCOUNTS = json.loads(__ACCOUNTS__)  # [[account id, role ARN to assume or null], ...] in order
REGION = __REGION__
LIVY_PORT = __LIVY_PORT__
CONFIG = Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})


def emr_client(role_arn):
    if role_arn is None:
        return boto3.client("emr", region_name=REGION, config=CONFIG)
    sts = boto3.client("sts", region_name=REGION, config=CONFIG)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="notebook-sparkmagic")["Credentials"]
    return boto3.client("emr", region_name=REGION, config=CONFIG, aws_access_key_id=credentials["AccessKeyId"],
                        aws_secret_access_key=credentials["SecretAccessKey"],
                        aws_session_token=credentials["SessionToken"])


def newest_active_cluster(emr):
    pages = emr.get_paginator("list_clusters").paginate(ClusterStates=["RUNNING", "WAITING"])
    clusters = [c for page in pages for c in page["Clusters"]]
    if not clusters:
        return None
    return max(clusters, key=lambda c: c["Status"]["Timeline"]["CreationDateTime"])["Id"]


def primary_private_ip(emr, cluster_id):
    pages = emr.get_paginator("list_instances").paginate(
        ClusterId=cluster_id, InstanceGroupTypes=["MASTER"], InstanceStates=["RUNNING"])
    for page in pages:
        for instance in page["Instances"]:
            if instance.get("PrivateIpAddress"):
                return instance["PrivateIpAddress"]
    return None


def find_primary(wanted):
    """(account, cluster id, private IP) from the first EMR account that has the cluster."""
    misses = []
    for account, role_arn in ACCOUNTS:
        try:
            emr = emr_client(role_arn)
            if wanted:
                try:
                    emr.describe_cluster(ClusterId=wanted)
                except botocore.exceptions.ClientError as exc:
                    misses.append(f"{account}: {exc.response['Error'].get('Message') or exc}")
                    continue
                cluster_id = wanted
            else:
                cluster_id = newest_active_cluster(emr)
                if cluster_id is None:
                    misses.append(f"{account}: no cluster RUNNING or WAITING")
                    continue
            address = primary_private_ip(emr, cluster_id)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            misses.append(f"{account}: {exc}")
            continue
        if address is None:
            sys.exit(f"cluster {cluster_id} in account {account} has no RUNNING MASTER instance")
        return account, cluster_id, address
    sys.exit("no EMR primary node found: " + "; ".join(misses))


def write_sparkmagic(path, url):
    """The kernel credentials of sparkmagic's example_config.json, with Livy's URL; whatever
    else the file holds is kept."""
    try:
        with open(path) as existing:
            config = json.load(existing)
        if not isinstance(config, dict):
            config = {}
    except (OSError, ValueError):
        config = {}
    for kernel in ("python", "scala"):
        config[f"kernel_{kernel}_credentials"] = {"username": "", "password": "", "url": url, "auth": "None"}
    config["kernel_r_credentials"] = {"username": "", "password": "", "url": url}
    partial = path + ".partial"
    with open(partial, "w") as out:
        json.dump(config, out, indent=2)
    os.replace(partial, path)


account, cluster_id, address = find_primary(os.environ.get("__CLUSTER_ID_VARIABLE__", "").strip())
url = f"http://{address}:{LIVY_PORT}"
write_sparkmagic(sys.argv[1], url)
print(f"sparkmagic -> {url} (cluster {cluster_id} in account {account})")
'''


def notebook_lifecycle_script(role_arns_by_account: Mapping[str, str | None], region: str,
                              livy_port: int = LIVY_PORT) -> str:
    """The on-start script (plain text; ``encoded`` makes it what the API takes).

    ``role_arns_by_account`` lists the environment's EMR accounts in order: account id -> the
    discovery role to assume there, or None for the notebook's own account (single-account
    layout). The cluster is ``$EMR_CLUSTER_ID`` if set, else the newest RUNNING or WAITING one.
    A notebook must start even when no cluster runs (none does right after a deploy), so a
    miss is reported on stderr and leaves sparkmagic's config as it was."""
    accounts = json.dumps([[account, role] for account, role in role_arns_by_account.items()])
    finder = (
        _FINDER.replace("__ACCOUNTS__", repr(accounts))
        .replace("__REGION__", repr(region))
        .replace("__LIVY_PORT__", str(int(livy_port)))
        .replace("__CLUSTER_ID_VARIABLE__", CLUSTER_ID_VARIABLE)
    )
    sparkmagic_dir = SPARKMAGIC_CONFIG.rsplit("/", 1)[0]
    return "\n".join(
        [
            "#!/bin/bash",
            "# Written by studio-emr-infra (SM-5): points sparkmagic at the EMR primary node's Livy at every start.",
            "# Runs as root (lifecycle scripts do, even with root access disabled) on a notebook without internet:",
            "# nothing is downloaded. Finding no cluster is not an error: the notebook starts, sparkmagic unchanged.",
            "set -uo pipefail",
            f'NOTEBOOK_USER="{NOTEBOOK_USER}"',
            f'SPARKMAGIC_DIR="{sparkmagic_dir}"',
            'PYTHON=""',
            f'for candidate in "{JUPYTER_SYSTEM_PYTHON}" python3; do',
            '  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import boto3" >/dev/null 2>&1; then',
            '    PYTHON="$candidate"',
            "    break",
            "  fi",
            "done",
            'if [ -z "$PYTHON" ]; then',
            '  echo "no python with boto3 found; sparkmagic not configured" >&2',
            "  exit 0",
            "fi",
            'mkdir -p "$SPARKMAGIC_DIR"',
            f'timeout {SCRIPT_TIMEOUT_SECONDS} "$PYTHON" - "$SPARKMAGIC_DIR/config.json" <<\'PYTHON\' '
            '|| echo "EMR primary node not resolved; sparkmagic config left unchanged" >&2',
            finder.strip("\n"),
            "PYTHON",
            'if id "$NOTEBOOK_USER" >/dev/null 2>&1; then',
            '  chown -R "$NOTEBOOK_USER:$NOTEBOOK_USER" "$SPARKMAGIC_DIR"',
            "fi",
            "exit 0",
            "",
        ]
    )
