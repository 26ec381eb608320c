"""IAM-6: SageMaker jobs from Kubernetes through IRSA. The construct's exact trust document and
scoped policies, where its stack goes, the values a user applies to the cluster, and the plan
review and IAM lint of web-identity trusts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from config import ENVS_DIR, yamlio
from config.loader import parse
from main import app
from modules.policies import web_identity_trust
from orchestration.review.policy import _document_problems
from orchestration.review.report import StackPlan, risks
from orchestration.terraform.synth import Workspace, synth_env
from orchestration.terraform.tfjson import PlanDocument
from stacks.app import stack_ids

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/D48675832CA65BD10A532F597OIDCID"
HOST = ISSUER.removeprefix("https://")
PROVIDER_ARN = f"arn:aws:iam::111111111111:oidc-provider/{HOST}"


def local_data() -> dict:
    return yamlio.load(ENVS_DIR / "local.yaml")


def synth_variant(tmp_path, edit=None, reuse=False):
    data = local_data()
    if edit:
        edit(data)
    env = parse(data, "local.yaml")
    result = synth_env(env, Workspace(tmp_path / "cdktf.out", tmp_path / "state"), reuse_oidc_provider=reuse)
    return env, result


def resources(stack_json: dict, kind: str) -> dict:
    return stack_json.get("resource", {}).get(kind, {})


def role(stack_json: dict, name: str) -> dict:
    return next(r for r in resources(stack_json, "aws_iam_role").values() if r["name"] == name)


def inline(stack_json: dict, name: str) -> dict:
    policy = next(p for p in resources(stack_json, "aws_iam_role_policy").values() if p["name"] == name)
    return json.loads(policy["policy"])


def with_issuer(data: dict) -> None:
    data["environment"]["kubernetes"] = {"issuer_url": ISSUER, "job_buckets": ["ml-in", "ml-out"]}


# --- the construct ---------------------------------------------------------------------------


def test_local_has_its_kubernetes_stack_in_the_first_wave(synthesized):
    result = synthesized("local")
    assert "studio-account-kubernetes" in result.stacks
    assert result.dependencies["studio-account-kubernetes"] == []
    assert result.account_of("studio-account-kubernetes") == "111111111111"


def test_the_trust_is_exactly_the_seeds_two_conditions_with_string_equals(tmp_path):
    _, result = synth_variant(tmp_path, with_issuer)
    stack = result.stack_json("studio-account-kubernetes")
    provider = next(iter(resources(stack, "aws_iam_openid_connect_provider").values()))
    assert provider["url"] == ISSUER and provider["client_id_list"] == ["sts.amazonaws.com"]
    address = next(iter(resources(stack, "aws_iam_openid_connect_provider")))
    trust = json.loads(role(stack, "studio-emr-local-k8s-controller")["assume_role_policy"])
    assert trust == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"${{aws_iam_openid_connect_provider.{address}.arn}}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{HOST}:aud": "sts.amazonaws.com",
                f"{HOST}:sub": "system:serviceaccount:ack-system:ack-sagemaker-controller",
            }},
        }],
    }


def test_the_seeds_operator_is_the_default_service_account(tmp_path):
    def seed_operator(data):
        with_issuer(data)
        del data["promoted"]["kubernetes"]

    _, result = synth_variant(tmp_path, seed_operator)
    trust = json.loads(role(result.stack_json("studio-account-kubernetes"), "studio-emr-local-k8s-controller")["assume_role_policy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"][f"{HOST}:sub"] == \
        "system:serviceaccount:sagemaker-k8s-operator-system:sagemaker-k8s-operator-default"


def test_a_named_cluster_has_its_issuer_read_at_deploy_time(synthesized):
    stack = synthesized("local").stack_json("studio-account-kubernetes")
    cluster_address, cluster = next(iter(stack["data"]["aws_eks_cluster"].items()))
    assert cluster["name"] == "studio-emr-local-eks"
    issuer = f"data.aws_eks_cluster.{cluster_address}.identity[0].oidc[0].issuer"
    provider = next(iter(resources(stack, "aws_iam_openid_connect_provider").values()))
    assert provider["url"] == f"${{{issuer}}}"
    condition = json.loads(role(stack, "studio-emr-local-k8s-controller")["assume_role_policy"])["Statement"][0]["Condition"]
    local, expression = next(iter(stack["locals"].items()))
    assert expression == f'${{replace({issuer}, "https://", "")}}'
    host = f"${{local.{local}}}"
    assert condition == {"StringEquals": {f"{host}:aud": "sts.amazonaws.com",
                                          f"{host}:sub": "system:serviceaccount:ack-system:ack-sagemaker-controller"}}


def test_an_existing_provider_is_read_not_created(tmp_path):
    _, result = synth_variant(tmp_path, with_issuer, reuse=True)
    stack = result.stack_json("studio-account-kubernetes")
    assert resources(stack, "aws_iam_openid_connect_provider") == {}
    address, existing = next(iter(stack["data"]["aws_iam_openid_connect_provider"].items()))
    assert existing["url"] == ISSUER
    principal = json.loads(role(stack, "studio-emr-local-k8s-controller")["assume_role_policy"])["Statement"][0]["Principal"]
    assert principal == {"Federated": f"${{data.aws_iam_openid_connect_provider.{address}.arn}}"}


def test_the_job_role_reaches_only_its_buckets_and_only_the_controller_passes_it(tmp_path):
    _, result = synth_variant(tmp_path, with_issuer)
    stack = result.stack_json("studio-account-kubernetes")
    assert resources(stack, "aws_iam_role_policy_attachment") == {}, "no managed policies (no AmazonS3FullAccess)"
    job = role(stack, "studio-emr-local-k8s-jobs")
    assert json.loads(job["assume_role_policy"])["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    s3 = {r for s in inline(stack, "sagemaker-jobs")["Statement"] if any(a.startswith("s3:") for a in s["Action"])
          for r in s["Resource"]}
    assert s3 == {"arn:aws:s3:::ml-in", "arn:aws:s3:::ml-out", "arn:aws:s3:::ml-in/*", "arn:aws:s3:::ml-out/*"}
    job_address = next(k for k, r in resources(stack, "aws_iam_role").items() if r["name"] == "studio-emr-local-k8s-jobs")
    passing = [s for s in inline(stack, "sagemaker-controller")["Statement"] if "iam:PassRole" in json.dumps(s["Action"])]
    assert passing == [{
        "Sid": "PassJobRole", "Effect": "Allow", "Action": "iam:PassRole",
        "Resource": f"${{aws_iam_role.{job_address}.arn}}",
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }]


def test_an_emr_account_gets_its_own_kubernetes_stack(tmp_path):
    def in_emr(data):
        with_issuer(data)
        data["environment"]["kubernetes"]["account_id"] = "222222222222"

    env, result = synth_variant(tmp_path, in_emr)
    assert "emr-account-kubernetes" in stack_ids(env) and "studio-account-kubernetes" not in stack_ids(env)
    assert result.account_of("emr-account-kubernetes") == "222222222222"


def test_no_kubernetes_section_no_stack(synthesized):
    assert not any(s.endswith("-kubernetes") for s in synthesized("dev").stacks)


# --- what a user applies to the cluster -----------------------------------------------------


def test_kube_values_are_ack_helm_values_with_the_role_annotation():
    result = CliRunner().invoke(app, ["kube-values", "--env", "local"])
    assert result.exit_code == 0, result.output
    values = yamlio.load(result.stdout)
    assert values == {
        "aws": {"region": "us-east-1"},
        "serviceAccount": {"create": True, "name": "ack-sagemaker-controller", "annotations": {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::111111111111:role/studio-emr-local-k8s-controller"}},
    }
    assert "helm install -n ack-system" in result.stdout
    assert "arn:aws:iam::111111111111:role/studio-emr-local-k8s-jobs" in result.stdout


def test_kube_values_for_the_seeds_operator_are_its_service_account(tmp_path, monkeypatch):
    import config.loader as loader

    data = local_data()
    data["promoted"]["kubernetes"] = {"controller": "sagemaker-operator"}
    (tmp_path / "local.yaml").write_text(yamlio.dump(data))
    monkeypatch.setattr(loader.load_env, "__defaults__", (tmp_path,))
    result = CliRunner().invoke(app, ["kube-values", "--env", "local"])
    assert result.exit_code == 0, result.output
    manifest = yamlio.load(result.stdout)
    assert manifest["kind"] == "ServiceAccount"
    assert manifest["metadata"] == {"name": "sagemaker-k8s-operator-default", "namespace": "sagemaker-k8s-operator-system",
                                    "annotations": {"eks.amazonaws.com/role-arn":
                                                    "arn:aws:iam::111111111111:role/studio-emr-local-k8s-controller"}}


def test_kube_values_without_a_kubernetes_section_is_a_config_error():
    result = CliRunner().invoke(app, ["kube-values", "--env", "dev"])
    assert result.exit_code == 2
    assert "environment.kubernetes: not set" in result.stderr


# --- plan review and IAM lint ----------------------------------------------------------------


def role_change(trust: dict, actions=("create",)) -> StackPlan:
    change = {"address": "aws_iam_role.controller", "type": "aws_iam_role", "name": "controller",
              "change": {"actions": list(actions), "before": None, "after": {"assume_role_policy": json.dumps(trust)}}}
    return StackPlan("studio-account-kubernetes", "111111111111", "us-east-1", PlanDocument.parse({"resource_changes": [change]}))


def exact_trust() -> dict:
    return web_identity_trust(PROVIDER_ARN, HOST, "system:serviceaccount:ack-system:ack-sagemaker-controller")


def test_the_exact_web_identity_trust_is_neither_risky_nor_linted():
    assert risks(role_change(exact_trust())) == []
    assert _document_problems(json.dumps(exact_trust()), trust=True) == []


@pytest.mark.parametrize("widen, problem", [
    (lambda c: c["StringEquals"].pop(f"{HOST}:aud"), "no StringEquals condition on <issuer>:aud"),
    (lambda c: c["StringEquals"].pop(f"{HOST}:sub"), "no StringEquals condition on <issuer>:sub"),
    (lambda c: c.update({"StringLike": {f"{HOST}:sub": "system:serviceaccount:*"}}) or c["StringEquals"].pop(f"{HOST}:sub"),
     "no StringEquals condition on <issuer>:sub"),
    (lambda c: c["StringEquals"].update({f"{HOST}:sub": "system:serviceaccount:ack-system:*"}), "<issuer>:sub has a wildcard"),
    (lambda c: c["StringEquals"].update({f"{HOST}:aud": "my-app"}), "<issuer>:aud is 'my-app', not sts.amazonaws.com"),
])
def test_a_web_identity_trust_without_both_exact_conditions_is_risky_and_linted(widen, problem):
    trust = exact_trust()
    widen(trust["Statement"][0]["Condition"])
    found = risks(role_change(trust))
    assert [r.reason for r in found] == [f"web-identity trust wider than one service account: statement 0: {problem}"]
    lint = _document_problems(json.dumps(trust), trust=True)
    assert lint == [f"statement 0: trusts {PROVIDER_ARN} with {problem}"]


def test_a_web_identity_trust_with_no_condition_at_all_is_flagged_on_change_too():
    trust = exact_trust()
    del trust["Statement"][0]["Condition"]
    reasons = [r.reason for r in risks(role_change(trust, ("update",)))]
    assert len(reasons) == 2 and all("web-identity trust wider" in r for r in reasons)


def test_destroying_the_oidc_provider_is_risky():
    change = {"address": "aws_iam_openid_connect_provider.p", "type": "aws_iam_openid_connect_provider", "name": "p",
              "change": {"actions": ["delete"], "before": {"url": HOST}, "after": None}}
    found = risks(StackPlan("studio-account-kubernetes", "1", "r", PlanDocument.parse({"resource_changes": [change]})))
    assert [r.reason for r in found] == ["destroy of the cluster's OIDC provider: every IRSA role of the cluster loses "
                                         "its credentials"]
