"""A data scientist's journey through the emulator's Service Catalog (emulator/extensions/
servicecatalog.py, cloudformation.py, emr.py): find the EMR product, launch a cluster from it
with the launch role, watch the record, reach the primary node, terminate."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path

import botocore.exceptions
import pytest

from config import yamlio
from tests import emulator_support
from tests.emulator_support import account_session, assert_shape, emulator  # noqa: F401 - the fixture

pytestmark = pytest.mark.emulator

ACCOUNT = "222222222222"
REGION = "us-east-1"
BUCKET = f"studio-emr-{ACCOUNT}"
BOOTSTRAP_KEY = "bootstrap/1/install-pylibs.sh"
BASE_TEMPLATE = Path(__file__).resolve().parents[1] / "assets" / "service-catalog" / "emr-cluster.cfn.yaml"
TERMINAL = ("SUCCEEDED", "FAILED")


@pytest.fixture(scope="module", autouse=True)
def _emulator_settings():
    """Read by the emulator process the module fixture starts (autouse runs first)."""
    saved = pytest.MonkeyPatch()
    saved.setenv("EMULATOR_EMR_STEP_SECONDS", "0.3")
    yield
    saved.undo()


# --- the world a platform team builds -----------------------------------------------------------


def build_network(ec2, cidr: str, *, s3_endpoint: bool = True, nat: bool = True) -> dict:
    """The shared network, with the EMR-managed and service-access groups the product pins."""
    net = emulator_support.build_network(ec2, cidr, s3_endpoint=s3_endpoint, nat=nat, region=REGION)
    groups = {"primary": net["primary_sg"]} | {
        kind: ec2.create_security_group(GroupName=f"emr-{kind}-{net['vpc']}", Description=kind, VpcId=net["vpc"])["GroupId"]
        for kind in ("managed-primary", "managed-core", "service-access")}
    return {"vpc": net["vpc"], "private": net["private"], "private_cidr": net["private_cidr"], "sg": groups["primary"],
            "groups": groups}


def render_template(networks: list[dict]) -> str:
    """The product template as the deploy renders it (modules/emr_product.render_emr_template):
    the first network's subnet and groups by default, the others allowed too."""
    template = yamlio.load(BASE_TEMPLATE)
    params = template["Parameters"]
    params["SubnetId"].update(Default=networks[0]["private"], AllowedValues=[n["private"] for n in networks])
    for parameter, kind in (("PrimarySecurityGroupId", "primary"),
                            ("ManagedPrimarySecurityGroupId", "managed-primary"),
                            ("ManagedCoreSecurityGroupId", "managed-core"),
                            ("ServiceAccessSecurityGroupId", "service-access")):
        if parameter in params:
            params[parameter].update(Default=networks[0]["groups"][kind],
                                     AllowedValues=[n["groups"][kind] for n in networks])
    params["InstanceType"].update(Default="m5.xlarge", AllowedValues=["m5.xlarge", "m5.2xlarge"])
    params["CoreInstanceCount"].update(Default=1, AllowedValues=[1, 2, 3])
    params["BootstrapScriptUri"]["Default"] = f"s3://{BUCKET}/{BOOTSTRAP_KEY}"
    return json.dumps(template, indent=2)


def role(iam, name: str, trust: dict, actions: list[str]) -> str:
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="access", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
    return arn


def trusting(principal: dict) -> dict:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}


def assumed(emulator, admin, role_arn: str, service: str):  # noqa: F811
    sts = admin.client("sts", endpoint_url=emulator.url)
    deadline = time.monotonic() + 10
    while True:  # IAM is eventually consistent on AWS too: a new role may take a moment
        try:
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="jupyter")["Credentials"]
            break
        except botocore.exceptions.ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    import boto3

    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name=REGION)
    return session.client(service, endpoint_url=emulator.url)


@pytest.fixture(scope="module")
def world(emulator):  # noqa: F811
    admin = account_session(emulator, ACCOUNT, REGION)
    ec2, iam, s3 = (admin.client(s, endpoint_url=emulator.url) for s in ("ec2", "iam", "s3"))
    catalog = admin.client("servicecatalog", endpoint_url=emulator.url)
    good = build_network(ec2, "10.0.0.0/16")
    broken = build_network(ec2, "10.9.0.0/16", s3_endpoint=False, nat=False)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=BOOTSTRAP_KEY, Body=b"#!/bin/bash\nsudo pip3 install boto3\n")
    s3.put_object(Bucket=BUCKET, Key="templates/emr-cluster.json",
                  Body=render_template([good, broken]).encode())
    launch_role = role(iam, "sc-emr-launch", trusting({"Service": "servicecatalog.amazonaws.com"}),
                       ["elasticmapreduce:*", "cloudformation:*", "ec2:Describe*", "iam:PassRole", "s3:GetObject"])
    scientist = role(iam, "data-scientist", trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}),
                     ["servicecatalog:*"])
    outsider = role(iam, "outsider", trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), ["servicecatalog:*"])
    portfolio = catalog.create_portfolio(DisplayName="studio-emr", ProviderName="Platform team")["PortfolioDetail"]["Id"]
    products = {}
    for name, description in (("studio-emr-cluster", "EMR cluster with Spark and Livy for SageMaker Studio"),
                              ("studio-notebook-tools", "Shared notebook helpers")):
        created = catalog.create_product(
            Name=name, Owner="Platform team", Description=description, ProductType="CLOUD_FORMATION_TEMPLATE",
            Tags=[{"Key": "sagemaker:studio-visibility:emr", "Value": "true"}],
            ProvisioningArtifactParameters={
                "Name": "v1", "Type": "CLOUD_FORMATION_TEMPLATE",
                "Info": {"LoadTemplateFromURL": f"https://{BUCKET}.s3.{REGION}.amazonaws.com/templates/emr-cluster.json"}},
            IdempotencyToken=name,
        )
        product_id = created["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
        catalog.associate_product_with_portfolio(ProductId=product_id, PortfolioId=portfolio)
        catalog.create_constraint(PortfolioId=portfolio, ProductId=product_id, Type="LAUNCH",
                                  Parameters=json.dumps({"RoleArn": launch_role}))
        products[name] = (product_id, created["ProvisioningArtifactDetail"]["Id"])
    catalog.associate_principal_with_portfolio(PortfolioId=portfolio, PrincipalARN=scientist, PrincipalType="IAM")
    return {
        "admin": admin, "good": good, "broken": broken, "portfolio": portfolio, "launch_role": launch_role,
        "product": products["studio-emr-cluster"][0], "artifact": products["studio-emr-cluster"][1],
        "other_product": products["studio-notebook-tools"][0],
        "user": assumed(emulator, admin, scientist, "servicecatalog"),
        "outsider": assumed(emulator, admin, outsider, "servicecatalog"),
        "emr": admin.client("emr", endpoint_url=emulator.url),
        "cfn": admin.client("cloudformation", endpoint_url=emulator.url),
        "ec2": ec2,
    }


def provision(world, name: str, **parameters) -> dict:
    response = world["user"].provision_product(
        ProductId=world["product"], ProvisioningArtifactId=world["artifact"], ProvisionedProductName=name,
        ProvisioningParameters=[{"Key": k, "Value": str(v)} for k, v in parameters.items()],
        ProvisionToken=f"token-{name}",
    )
    assert_shape(world["user"], "ProvisionProduct", response)
    return response["RecordDetail"]


def wait_record(client, record_id: str, timeout: float = 30) -> tuple[dict, list[str]]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.describe_record(Id=record_id)
        assert_shape(client, "DescribeRecord", response)
        status = response["RecordDetail"]["Status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in TERMINAL:
            return response, seen
        time.sleep(0.1)
    raise AssertionError(f"record {record_id} never finished; seen {seen}")


# --- finding the product ----------------------------------------------------------------------


def test_associated_role_finds_the_product(world):
    response = world["user"].search_products()
    assert_shape(world["user"], "SearchProducts", response)
    names = {p["Name"] for p in response["ProductViewSummaries"]}
    assert names == {"studio-emr-cluster", "studio-notebook-tools"}
    summary = next(p for p in response["ProductViewSummaries"] if p["Name"] == "studio-emr-cluster")
    assert summary["ProductId"] == world["product"] and summary["HasDefaultPath"] is True


def test_unassociated_role_finds_nothing_and_cannot_describe(world):
    assert world["outsider"].search_products()["ProductViewSummaries"] == []
    for call in (lambda c: c.describe_product(Id=world["product"]),
                 lambda c: c.list_launch_paths(ProductId=world["product"])):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call(world["outsider"])
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_administrator_is_no_end_user_without_an_association(world):
    admin_catalog = world["admin"].client("servicecatalog", endpoint_url=world["user"].meta.endpoint_url)
    assert admin_catalog.search_products()["ProductViewSummaries"] == []


def test_the_administrator_searches_every_product_of_the_account(world):
    admin_catalog = world["admin"].client("servicecatalog", endpoint_url=world["user"].meta.endpoint_url)
    response = admin_catalog.search_products_as_admin(SortBy="Title")
    assert_shape(admin_catalog, "SearchProductsAsAdmin", response)
    assert [p["ProductViewSummary"]["Name"] for p in response["ProductViewDetails"]] == ["studio-emr-cluster", "studio-notebook-tools"]
    in_portfolio = admin_catalog.search_products_as_admin(PortfolioId=world["portfolio"], Filters={"FullTextSearch": ["livy"]})
    assert [p["ProductViewSummary"]["ProductId"] for p in in_portfolio["ProductViewDetails"]] == [world["product"]]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        admin_catalog.search_products_as_admin(PortfolioId="port-doesnotexist1")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_search_filters_and_pages_as_aws_does(world):
    user = world["user"]
    found = user.search_products(Filters={"FullTextSearch": ["livy"]})["ProductViewSummaries"]
    assert [p["Name"] for p in found] == ["studio-emr-cluster"]
    assert user.search_products(Filters={"FullTextSearch": ["no-such-words"]})["ProductViewSummaries"] == []
    assert len(user.search_products(Filters={"Owner": ["Platform team"]})["ProductViewSummaries"]) == 2
    first = user.search_products(PageSize=1, SortBy="Title", SortOrder="DESCENDING")
    assert [p["Name"] for p in first["ProductViewSummaries"]] == ["studio-notebook-tools"]
    second = user.search_products(PageSize=1, SortBy="Title", SortOrder="DESCENDING", PageToken=first["NextPageToken"])
    assert [p["Name"] for p in second["ProductViewSummaries"]] == ["studio-emr-cluster"]
    assert "NextPageToken" not in second
    paths = user.get_paginator("list_launch_paths").paginate(ProductId=world["product"])
    assert [p["Id"] for page in paths for p in page["LaunchPathSummaries"]] == [world["portfolio"]]


def test_describe_product_and_launch_paths_for_the_end_user(world):
    user = world["user"]
    product = user.describe_product(Id=world["product"])
    assert_shape(user, "DescribeProduct", product)
    assert [p["Id"] for p in product["LaunchPaths"]] == [world["portfolio"]]
    assert [a["Id"] for a in product["ProvisioningArtifacts"]] == [world["artifact"]]
    paths = user.list_launch_paths(ProductId=world["product"])
    assert_shape(user, "ListLaunchPaths", paths)
    assert paths["LaunchPathSummaries"][0]["ConstraintSummaries"][0]["Type"] == "LAUNCH"
    parameters = user.describe_provisioning_parameters(ProductId=world["product"],
                                                       ProvisioningArtifactId=world["artifact"])
    assert_shape(user, "DescribeProvisioningParameters", parameters)
    by_key = {p["ParameterKey"]: p for p in parameters["ProvisioningArtifactParameters"]}
    assert by_key["InstanceType"]["ParameterConstraints"]["AllowedValues"] == ["m5.xlarge", "m5.2xlarge"]


# --- launching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [
        ("bad-type", {"InstanceType": "t2.micro"}, "Parameter 'InstanceType' must be one of AllowedValues"),
        ("bad-count", {"CoreInstanceCount": "two"}, "Parameter 'CoreInstanceCount' must be a number"),
        ("bad-name", {"ClusterName": "no spaces!"}, "Parameter 'ClusterName' must match pattern"),
        ("bad-key", {"Colour": "blue"}, "Parameters: [Colour] do not exist in the template"),
        ("bad-subnet", {"SubnetId": "subnet-0123456789abcdef0"}, "must be one of AllowedValues"),
    ],
)
def test_refused_parameter_fails_the_record_as_cloudformation_refuses_it(world, name, parameters, message):
    record = provision(world, name, **parameters)
    assert record["Status"] == "CREATED"
    response, _ = wait_record(world["user"], record["RecordId"])
    detail = response["RecordDetail"]
    assert detail["Status"] == "FAILED"
    assert message in detail["RecordErrors"][0]["Description"]
    assert detail["RecordErrors"][0]["Description"].startswith("AmazonCloudFormationException")
    product = world["user"].describe_provisioned_product(Id=detail["ProvisionedProductId"])
    assert_shape(world["user"], "DescribeProvisionedProduct", product)
    assert product["ProvisionedProductDetail"]["Status"] == "ERROR"
    assert message in product["ProvisionedProductDetail"]["StatusMessage"]
    world["user"].terminate_provisioned_product(ProvisionedProductId=detail["ProvisionedProductId"],
                                                TerminateToken=f"end-{name}")


def test_outsider_cannot_launch(world):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        world["outsider"].provision_product(ProductId=world["product"], ProvisioningArtifactId=world["artifact"],
                                            ProvisionedProductName="sneaky", ProvisionToken="sneaky")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.fixture(scope="module")
def launched(world):
    record = provision(world, "ds-cluster", InstanceType="m5.2xlarge", CoreInstanceCount=2)
    stack_name = f"SC-{ACCOUNT}-{record['ProvisionedProductId']}"
    stack_at_once = world["cfn"].describe_stacks(StackName=stack_name)["Stacks"][0]
    product_at_once = world["user"].describe_provisioned_product(Id=record["ProvisionedProductId"])
    response, seen = wait_record(world["user"], record["RecordId"])
    outputs = {o["OutputKey"]: o["OutputValue"] for o in response["RecordOutputs"]}
    return {"record": record, "response": response, "seen": seen, "outputs": outputs, "stack_name": stack_name,
            "stack_at_once": stack_at_once, "product_at_once": product_at_once}


def test_good_launch_succeeds_asynchronously(world, launched):
    assert launched["record"]["Status"] == "CREATED"
    assert launched["record"]["RecordType"] == "PROVISION_PRODUCT"
    assert launched["seen"][-1] == "SUCCEEDED" and len(launched["seen"]) > 1
    assert launched["stack_at_once"]["StackStatus"] == "CREATE_IN_PROGRESS"
    assert launched["product_at_once"]["ProvisionedProductDetail"]["Status"] == "UNDER_CHANGE"
    detail = world["user"].describe_provisioned_product(Id=launched["record"]["ProvisionedProductId"])
    assert detail["ProvisionedProductDetail"]["Status"] == "AVAILABLE"
    assert detail["ProvisionedProductDetail"]["LaunchRoleArn"] == world["launch_role"]


def test_stack_is_created_under_the_launch_role(world, launched):
    stack = world["cfn"].describe_stacks(StackName=launched["stack_name"])["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["RoleARN"] == world["launch_role"]
    assert launched["outputs"]["CloudformationStackARN"] == stack["StackId"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["InstanceType"] == "m5.2xlarge"


def test_cluster_runs_in_the_chosen_subnet_with_the_products_group(world, launched):
    emr = world["emr"]
    cluster = emr.describe_cluster(ClusterId=launched["outputs"]["ClusterId"])["Cluster"]
    assert cluster["Status"]["State"] in ("RUNNING", "WAITING")
    attributes = cluster["Ec2InstanceAttributes"]
    assert attributes["Ec2SubnetId"] == world["good"]["private"]
    assert attributes["AdditionalMasterSecurityGroups"] == [world["good"]["sg"]]
    groups = world["good"]["groups"]
    assert (attributes["EmrManagedMasterSecurityGroup"], attributes["EmrManagedSlaveSecurityGroup"],
            attributes["ServiceAccessSecurityGroup"]) == (groups["managed-primary"], groups["managed-core"],
                                                          groups["service-access"])
    assert {"Key": "sagemaker:studio-visibility:emr", "Value": "true"} in cluster["Tags"]
    assert {a["Name"] for a in cluster["Applications"]} >= {"Spark", "Livy", "Hive"}
    actions = emr.list_bootstrap_actions(ClusterId=cluster["Id"])["BootstrapActions"]
    assert actions[0]["ScriptPath"] == f"s3://{BUCKET}/{BOOTSTRAP_KEY}"


def test_primary_node_is_found_as_studio_finds_it(world, launched):
    emr = world["emr"]
    cluster_id = launched["outputs"]["ClusterId"]
    cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    instances = [i for page in emr.get_paginator("list_instances").paginate(ClusterId=cluster_id)
                 for i in page["Instances"]]
    groups = {g["Id"]: g["InstanceGroupType"] for g in emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]}
    assert sorted(groups[i["InstanceGroupId"]] for i in instances) == ["CORE", "CORE", "MASTER"]
    master = next(i for i in instances if groups[i["InstanceGroupId"]] == "MASTER")
    assert ipaddress.ip_address(master["PrivateIpAddress"]) in ipaddress.ip_network(world["good"]["private_cidr"])
    assert master["PrivateDnsName"] == cluster["MasterPublicDnsName"]
    assert master["InstanceType"] == "m5.2xlarge"


def test_provisioned_products_are_listed_for_their_owner_only(world, launched):
    user, outsider = world["user"], world["outsider"]
    scanned = user.scan_provisioned_products()
    assert_shape(user, "ScanProvisionedProducts", scanned)
    assert "ds-cluster" in {p["Name"] for p in scanned["ProvisionedProducts"]}
    searched = user.search_provisioned_products()
    assert_shape(user, "SearchProvisionedProducts", searched)
    assert "ds-cluster" in {p["Name"] for p in searched["ProvisionedProducts"]}
    assert outsider.scan_provisioned_products()["ProvisionedProducts"] == []


def test_a_name_in_use_is_refused(world, launched):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        world["user"].provision_product(
            ProductId=world["product"], ProvisioningArtifactId=world["artifact"],
            ProvisionedProductName="ds-cluster", ProvisionToken="another-token")
    assert refused.value.response["Error"]["Code"] == "InvalidParametersException"


def test_cluster_that_cannot_start_fails_the_record_and_rolls_back(world):
    broken = world["broken"]["groups"]
    record = provision(world, "no-s3-path", SubnetId=world["broken"]["private"], PrimarySecurityGroupId=broken["primary"],
                       ManagedPrimarySecurityGroupId=broken["managed-primary"],
                       ManagedCoreSecurityGroupId=broken["managed-core"],
                       ServiceAccessSecurityGroupId=broken["service-access"])
    response, _ = wait_record(world["user"], record["RecordId"])
    detail = response["RecordDetail"]
    assert detail["Status"] == "FAILED"
    assert "no route to Amazon S3" in detail["RecordErrors"][0]["Description"]
    deadline = time.monotonic() + 10
    while True:
        stack = world["cfn"].describe_stacks(StackName=f"SC-{ACCOUNT}-{record['ProvisionedProductId']}")["Stacks"][0]
        if stack["StackStatus"] == "ROLLBACK_COMPLETE" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "failed to create: [Cluster]" in stack["StackStatusReason"]
    failed = [e for e in world["cfn"].describe_stack_events(StackName=stack["StackId"])["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed and failed[0]["LogicalResourceId"] == "Cluster"
    assert "no route to Amazon S3" in failed[0]["ResourceStatusReason"]


# --- terminating ---------------------------------------------------------------------------------


def test_terminate_deletes_the_stack_and_the_cluster(world, launched):
    user = world["user"]
    pp_id = launched["record"]["ProvisionedProductId"]
    response = user.terminate_provisioned_product(ProvisionedProductId=pp_id, TerminateToken="end-ds-cluster")
    assert_shape(user, "TerminateProvisionedProduct", response)
    assert response["RecordDetail"]["RecordType"] == "TERMINATE_PROVISIONED_PRODUCT"
    assert response["RecordDetail"]["Status"] in ("CREATED", "IN_PROGRESS")
    assert user.describe_provisioned_product(Id=pp_id)["ProvisionedProductDetail"]["Status"] == "UNDER_CHANGE"
    finished, _ = wait_record(user, response["RecordDetail"]["RecordId"])
    assert finished["RecordDetail"]["Status"] == "SUCCEEDED"
    stack = world["cfn"].describe_stacks(StackName=launched["outputs"]["CloudformationStackARN"])["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_COMPLETE"
    cluster = world["emr"].describe_cluster(ClusterId=launched["outputs"]["ClusterId"])["Cluster"]
    assert cluster["Status"]["State"] == "TERMINATED"
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        user.describe_provisioned_product(Id=pp_id)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert user.describe_record(Id=launched["record"]["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    again = user.provision_product(ProductId=world["product"], ProvisioningArtifactId=world["artifact"],
                                   ProvisionedProductName="ds-cluster", ProvisionToken="ds-cluster-again")
    assert again["RecordDetail"]["Status"] == "CREATED"


# --- what CloudFormation and Service Catalog refuse at once -------------------------------------


def test_cloudformation_refuses_bad_parameters_synchronously(world):
    cfn = world["cfn"]
    template = json.dumps({"Parameters": {"Size": {"Type": "Number", "MaxValue": 3},
                                          "Name": {"Type": "String", "AllowedValues": ["a", "b"]}},
                           "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    for parameters, message in (
        ([], "Parameters: [Size, Name] must have values"),
        ([{"ParameterKey": "Size", "ParameterValue": "9"}, {"ParameterKey": "Name", "ParameterValue": "a"}],
         "Parameter 'Size' must be a number not greater than 3"),
        ([{"ParameterKey": "Size", "ParameterValue": "1"}, {"ParameterKey": "Name", "ParameterValue": "c"}],
         "Parameter 'Name' must be one of AllowedValues"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            cfn.create_stack(StackName="refused", TemplateBody=template, Parameters=parameters)
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert refused.value.response["Error"]["Message"] == message


def test_product_whose_template_cannot_be_read_is_refused(world):
    catalog = world["admin"].client("servicecatalog", endpoint_url=world["user"].meta.endpoint_url)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        catalog.create_product(
            Name="broken", Owner="Platform team", ProductType="CLOUD_FORMATION_TEMPLATE", IdempotencyToken="broken",
            ProvisioningArtifactParameters={"Name": "v1", "Type": "CLOUD_FORMATION_TEMPLATE", "Info": {
                "LoadTemplateFromURL": f"https://s3.{REGION}.amazonaws.com/{BUCKET}/templates/missing.json"}})
    assert refused.value.response["Error"]["Code"] == "InvalidParametersException"


def test_a_second_launch_constraint_on_a_product_and_portfolio_is_refused(world):
    """One LAUNCH constraint per product and portfolio: another is refused with
    DuplicateResourceException; a request repeated with its IdempotencyToken answers the first
    constraint, and the token with other parameters is refused; the product in another portfolio takes a LAUNCH constraint of its own."""
    catalog = world["admin"].client("servicecatalog", endpoint_url=world["user"].meta.endpoint_url)
    product, launch = world["product"], json.dumps({"RoleArn": world["launch_role"]})

    def launch_constraints(portfolio: str) -> list[str]:
        details = catalog.list_constraints_for_portfolio(PortfolioId=portfolio, ProductId=product)["ConstraintDetails"]
        return [c["ConstraintId"] for c in details if c["Type"] == "LAUNCH"]

    existing = launch_constraints(world["portfolio"])
    assert len(existing) == 1
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        catalog.create_constraint(PortfolioId=world["portfolio"], ProductId=product, Type="LAUNCH", Parameters=launch)
    assert refused.value.response["Error"]["Code"] == "DuplicateResourceException"
    assert launch_constraints(world["portfolio"]) == existing

    other = catalog.create_portfolio(DisplayName="studio-emr-other",
                                     ProviderName="Platform team")["PortfolioDetail"]["Id"]
    catalog.associate_product_with_portfolio(ProductId=product, PortfolioId=other)
    created = catalog.create_constraint(PortfolioId=other, ProductId=product, Type="LAUNCH", Parameters=launch,
                                        IdempotencyToken="launch-other")
    assert_shape(catalog, "CreateConstraint", created)
    constraint_id = created["ConstraintDetail"]["ConstraintId"]
    retried = catalog.create_constraint(PortfolioId=other, ProductId=product, Type="LAUNCH", Parameters=launch,
                                        IdempotencyToken="launch-other")
    assert retried["ConstraintDetail"]["ConstraintId"] == constraint_id
    with pytest.raises(botocore.exceptions.ClientError) as mismatched:  # the token names another request
        catalog.create_constraint(PortfolioId=other, ProductId=product, Type="LAUNCH", IdempotencyToken="launch-other",
                                  Parameters=json.dumps({"LocalRoleName": "SomeOtherRole"}))
    assert mismatched.value.response["Error"]["Code"] == "InvalidParametersException"
    assert launch_constraints(other) == [constraint_id]
    catalog.delete_constraint(Id=constraint_id)
    catalog.disassociate_product_from_portfolio(ProductId=product, PortfolioId=other)
    catalog.delete_portfolio(Id=other)
