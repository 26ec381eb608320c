"""The emulator's notebook instances behave as SageMaker's (emulator/extensions/sagemaker.py, SM-5):
asynchronous states, the refusals of Stop/Delete/Update in the wrong state, the ENI in the
customer's subnet, creation refusals, and lifecycle configurations as the AWS provider uses them."""

from __future__ import annotations

import base64
import json
import time

import botocore.exceptions
import pytest

from tests.emulator_support import account_session, emulator  # noqa: F401 - the fixture

pytestmark = pytest.mark.emulator

ACCOUNT = "111111111111"
STEP = 0.3


@pytest.fixture(scope="module", autouse=True)
def _emulator_settings():
    """Read by the emulator process the module fixture starts (autouse runs first)."""
    saved = pytest.MonkeyPatch()
    saved.setenv("EMULATOR_NOTEBOOK_STEP_SECONDS", str(STEP))
    yield
    saved.undo()


@pytest.fixture(scope="module")
def clients(emulator):  # noqa: F811
    session = account_session(emulator, ACCOUNT)
    return {name: session.client(name, endpoint_url=emulator.url) for name in ("sagemaker", "ec2", "iam")}


@pytest.fixture(scope="module")
def world(clients):
    ec2, iam = clients["ec2"], clients["iam"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="notebook", Description="notebook", VpcId=vpc)["GroupId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    other_sg = ec2.create_security_group(GroupName="elsewhere", Description="x", VpcId=other_vpc)["GroupId"]

    def role(name: str, service: str) -> str:
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    config = clients["sagemaker"].create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="sparkmagic",
        OnStart=[{"Content": base64.b64encode(b"#!/bin/bash\necho start\n").decode()}],
    )
    return {"vpc": vpc, "subnet": subnet, "sg": sg, "other_sg": other_sg, "config": config,
            "role": role("notebook-execution", "sagemaker.amazonaws.com"), "ec2_role": role("not-sagemaker", "ec2.amazonaws.com")}


def create(sagemaker, world, name: str, **overrides) -> dict:
    params = {
        "NotebookInstanceName": name, "InstanceType": "ml.t3.medium", "RoleArn": world["role"],
        "SubnetId": world["subnet"], "SecurityGroupIds": [world["sg"]], "DirectInternetAccess": "Disabled",
        "RootAccess": "Disabled", "LifecycleConfigName": "sparkmagic",
        "InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"},
        "Tags": [{"Key": "stack", "Value": "studio-account"}],
    }
    params.update(overrides)
    return sagemaker.create_notebook_instance(**{k: v for k, v in params.items() if v is not None})


def wait_status(sagemaker, name: str, wanted: str, timeout: float = 10) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = sagemaker.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == wanted:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {wanted}; seen {seen}")


def error_of(call) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_create_answers_pending_and_becomes_in_service_later(clients, world):
    sagemaker = clients["sagemaker"]
    arn = create(sagemaker, world, "nb-lifecycle")["NotebookInstanceArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/nb-lifecycle"
    first = sagemaker.describe_notebook_instance(NotebookInstanceName="nb-lifecycle")
    assert first["NotebookInstanceStatus"] == "Pending"
    assert wait_status(sagemaker, "nb-lifecycle", "InService") == ["Pending", "InService"]
    described = sagemaker.describe_notebook_instance(NotebookInstanceName="nb-lifecycle")
    assert described["SubnetId"] == world["subnet"] and described["SecurityGroups"] == [world["sg"]]
    assert described["DirectInternetAccess"] == "Disabled" and described["RootAccess"] == "Disabled"
    assert described["NotebookInstanceLifecycleConfigName"] == "sparkmagic"
    assert described["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}
    assert described["VolumeSizeInGB"] == 5 and described["PlatformIdentifier"]
    tags = sagemaker.list_tags(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "stack", "Value": "studio-account"}]


def test_the_notebook_has_a_network_interface_in_the_subnet_with_its_groups(clients, world):
    described = clients["sagemaker"].describe_notebook_instance(NotebookInstanceName="nb-lifecycle")
    eni = clients["ec2"].describe_network_interfaces(NetworkInterfaceIds=[described["NetworkInterfaceId"]])
    eni = eni["NetworkInterfaces"][0]
    assert eni["SubnetId"] == world["subnet"] and [g["GroupId"] for g in eni["Groups"]] == [world["sg"]]
    assert eni["PrivateIpAddress"].startswith("10.9.1.")


def test_delete_is_refused_until_stopped_and_stop_is_asynchronous(clients, world):
    sagemaker = clients["sagemaker"]
    code, message = error_of(lambda: sagemaker.delete_notebook_instance(NotebookInstanceName="nb-lifecycle"))
    assert code == "ValidationException"
    assert message.startswith("Status (InService) not in ([Stopped, Failed]). Unable to transition to (Deleting)")
    code, message = error_of(lambda: sagemaker.update_notebook_instance(NotebookInstanceName="nb-lifecycle",
                                                                        VolumeSizeInGB=10))
    assert code == "ValidationException" and "Unable to transition to (Updating)" in message
    sagemaker.stop_notebook_instance(NotebookInstanceName="nb-lifecycle")
    assert wait_status(sagemaker, "nb-lifecycle", "Stopped") == ["Stopping", "Stopped"]
    code, message = error_of(lambda: sagemaker.stop_notebook_instance(NotebookInstanceName="nb-lifecycle"))
    assert code == "ValidationException" and "Unable to transition to (Stopping)" in message


def test_update_and_start_move_through_their_states(clients, world):
    sagemaker = clients["sagemaker"]
    sagemaker.update_notebook_instance(NotebookInstanceName="nb-lifecycle", VolumeSizeInGB=10)
    assert wait_status(sagemaker, "nb-lifecycle", "Stopped") == ["Updating", "Stopped"]
    assert sagemaker.describe_notebook_instance(NotebookInstanceName="nb-lifecycle")["VolumeSizeInGB"] == 10
    sagemaker.start_notebook_instance(NotebookInstanceName="nb-lifecycle")
    assert wait_status(sagemaker, "nb-lifecycle", "InService") == ["Pending", "InService"]
    sagemaker.get_waiter("notebook_instance_in_service").wait(NotebookInstanceName="nb-lifecycle",
                                                               WaiterConfig={"Delay": 1, "MaxAttempts": 5})


def test_delete_goes_through_deleting_then_record_not_found_and_frees_the_eni(clients, world):
    sagemaker = clients["sagemaker"]
    eni_id = sagemaker.describe_notebook_instance(NotebookInstanceName="nb-lifecycle")["NetworkInterfaceId"]
    sagemaker.stop_notebook_instance(NotebookInstanceName="nb-lifecycle")
    sagemaker.get_waiter("notebook_instance_stopped").wait(NotebookInstanceName="nb-lifecycle",
                                                            WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    sagemaker.delete_notebook_instance(NotebookInstanceName="nb-lifecycle")
    assert sagemaker.describe_notebook_instance(NotebookInstanceName="nb-lifecycle")["NotebookInstanceStatus"] == "Deleting"
    sagemaker.get_waiter("notebook_instance_deleted").wait(NotebookInstanceName="nb-lifecycle",
                                                            WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    # What the AWS provider's finder treats as gone: ValidationException "RecordNotFound".
    assert error_of(lambda: sagemaker.describe_notebook_instance(NotebookInstanceName="nb-lifecycle")) == \
        ("ValidationException", "RecordNotFound")
    assert sagemaker.list_notebook_instances()["NotebookInstances"] == []
    interfaces = clients["ec2"].describe_network_interfaces()["NetworkInterfaces"]
    assert eni_id not in [i["NetworkInterfaceId"] for i in interfaces]


@pytest.mark.parametrize("overrides, expected", [
    ({"LifecycleConfigName": "no-such-config"}, "Notebook Instance Lifecycle Config does not exist"),
    ({"SubnetId": None, "SecurityGroupIds": None}, "DirectInternetAccess can be Disabled only"),
    ({"SecurityGroupIds": ["other_sg"]}, "not in the VPC"),
    ({"RoleArn": "ec2_role"}, "Could not assume role"),
    ({"InstanceType": "ml.nonexistent.large"}, "instanceType"),
])
def test_create_refuses_what_sagemaker_refuses(clients, world, overrides, expected):
    resolved = {k: ([world[x] for x in v] if isinstance(v, list) else world.get(v, v) if isinstance(v, str) else v)
                for k, v in overrides.items()}
    code, message = error_of(lambda: create(clients["sagemaker"], world, "nb-refused", **resolved))
    assert code == "ValidationException" and expected in message
    assert "nb-refused" not in [n["NotebookInstanceName"]
                                for n in clients["sagemaker"].list_notebook_instances()["NotebookInstances"]]


def test_lifecycle_configs_describe_update_list_tag_and_delete(clients, world):
    sagemaker = clients["sagemaker"]
    arn = world["config"]["NotebookInstanceLifecycleConfigArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance-lifecycle-config/sparkmagic"
    described = sagemaker.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="sparkmagic")
    assert base64.b64decode(described["OnStart"][0]["Content"]).startswith(b"#!/bin/bash")
    assert "OnCreate" not in described
    new = base64.b64encode(b"#!/bin/bash\necho updated\n").decode()
    sagemaker.update_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="sparkmagic",
                                                        OnStart=[{"Content": new}])
    described = sagemaker.describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="sparkmagic")
    assert described["OnStart"] == [{"Content": new}]
    listed = sagemaker.list_notebook_instance_lifecycle_configs(NameContains="spark")["NotebookInstanceLifecycleConfigs"]
    assert [c["NotebookInstanceLifecycleConfigArn"] for c in listed] == [arn]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "owner", "Value": "platform"}])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "owner", "Value": "platform"}]
    too_long = [{"Content": "A" * 16385}]
    code, message = error_of(lambda: sagemaker.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="too-long", OnStart=too_long))
    assert code == "ValidationException" and "16384" in message
    code, message = error_of(lambda: sagemaker.create_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="sparkmagic"))
    assert code == "ValidationException" and "already exists" in message
    sagemaker.create_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="to-delete")
    sagemaker.delete_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName="to-delete")
    code, message = error_of(lambda: sagemaker.describe_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="to-delete"))
    assert code == "ValidationException" and "does not exist" in message
    code, _ = error_of(lambda: sagemaker.delete_notebook_instance_lifecycle_config(
        NotebookInstanceLifecycleConfigName="to-delete"))
    assert code == "ValidationException"
