"""Runs inside the Studio-side virtualenv (.tools/studio-client), never in the project's: what a
notebook's `%sm_analytics emr connect --assumable-role-arn ...` does to find Livy, with the real
client library (PyPI sagemaker-studio-sparkmagic-lib, EMRCluster).

Input (argv[1], JSON): cluster_id, region, endpoint_url (the emulator; null on AWS, where the
EMR endpoint is built as sagemaker-studio-analytics-extension builds it), and the credentials
of the role the connect uses. Output (stdout, one JSON line): the primary node as EMRCluster
resolved it, or the error it raised.
"""

import json
import sys

import boto3
from sagemaker_studio_sparkmagic_lib import utils
from sagemaker_studio_sparkmagic_lib.emr import EMRCluster


def main() -> None:
    args = json.loads(sys.argv[1])
    session = boto3.Session(
        aws_access_key_id=args["access_key_id"],
        aws_secret_access_key=args["secret_access_key"],
        aws_session_token=args["session_token"],
        region_name=args["region"],
    )
    # sagemaker-studio-analytics-extension's get_emr_client: the same client EMRCluster gets there.
    endpoint_url = args["endpoint_url"] or utils.get_emr_endpoint_url(args["region"])
    emr = session.client("emr", endpoint_url=endpoint_url)
    try:
        cluster = EMRCluster(cluster_id=args["cluster_id"], emr=emr)
    except (ValueError, ConnectionError) as exc:
        print(json.dumps({"error": str(exc)}))
        return
    primary = cluster._emr_primary_instance  # the extension reads EMRCluster's fields the same way
    print(json.dumps({
        "private_dns_name": cluster.primary_node_private_dns_name(),
        "private_ip": primary.get("PrivateIpAddress"),
        "instance_id": primary.get("Ec2InstanceId"),
        "kerberos": cluster.is_krb_cluster,
    }))


if __name__ == "__main__":
    main()
