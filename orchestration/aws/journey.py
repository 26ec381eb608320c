"""A data scientist's journey, as one command: discover the EMR accounts the way Studio does,
find the EMR template, launch a cluster from it, connect to Livy with the real client library,
prove the network path, and clean up.

Everything a data scientist does runs with the Studio execution role's credentials, as a Studio
app holds them (on the emulator, minted as SageMaker mints them for an app, which the role's
trust must allow; on AWS, the ambient credentials, which must be that role's session, as in a
Studio terminal), and with the roles it assumes in the EMR accounts. Only the reachability proof
reads the network configuration of both accounts with the platform team's credentials, as
Reachability Analyzer would.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import boto3
import botocore.exceptions

from config import EmrAccount, EnvironmentFile, StudioEmrError, StudioGeneration, Target, load_env
from modules.discovery import DISCOVERY_DIRECTORY, DISCOVERY_FILE_NAME
from modules.notebook_script import LIVY_PORT
from stacks import naming

from orchestration.aws import reachability, sessions
from orchestration.aws.accounts import CLIENT_CONFIG, Accounts, all_pages
from orchestration.aws.notebook import NotebookScriptError, render_livy_url_in_sandbox
from orchestration.aws.studio_apps import find_domain_id
from orchestration.local import emulator as emulator_control
from orchestration.terraform.runner import PROJECT_ROOT
from orchestration.terraform.synth import Workspace

STUDIO_CLIENT_PYTHON = PROJECT_ROOT / ".tools" / "studio-client" / "bin" / "python"
CONNECT_PROBE = Path(__file__).resolve().parent / "studio_side" / "connect_probe.py"
# The Studio Classic image runs lifecycle scripts with this home directory.
STUDIO_HOME = "/home/sagemaker-user"
# An instance type no environment allows: the guardrail must refuse it.
DISALLOWED_INSTANCE_TYPES = ("x1e.32xlarge", "u-24tb1.metal")


class JourneyError(StudioEmrError):
    """The journey could not start (nothing deployed, no emulator, no client library)."""


@dataclass(frozen=True)
class Step:
    name: str
    status: str  # "ok", "FAIL" or "skipped"
    evidence: str
    seconds: float = 0.0  # since the step before


@dataclass
class JourneyReport:
    env_name: str
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.status != "FAIL" for s in self.steps)

    def to_json(self) -> str:
        return json.dumps({"environment": self.env_name, "ok": self.ok, "seconds": round(self.seconds, 1),
                           "steps": [asdict(s) for s in self.steps]}, indent=2)


@dataclass
class _Cluster:
    account: EmrAccount
    cluster_id: str
    provisioned_product_id: str | None = None
    # Service Catalog reports the product's stack as the record output CloudformationStackARN.
    stack_arn: str | None = None


class _StepFailed(Exception):
    """Ends the steps that depend on the one that failed; the report already says why."""


class _Journey:
    def __init__(self, env: EnvironmentFile, accounts: Accounts, user: str, log):
        self.env = env
        self.accounts = accounts
        self.user = user
        self.log = log
        self.report = JourneyReport(env.environment.name)
        self.studio = accounts.studio()
        self.domain_id = find_domain_id(env, accounts)
        self.me: boto3.Session | None = None
        self.region = env.environment.studio_account.region
        self._last = time.monotonic()
        self.clusters: list[_Cluster] = []  # launched and not yet cleaned up
        self.poll_seconds = 1 if accounts.emulator is not None else 15

    # --- reporting ------------------------------------------------------------------------

    def step(self, name: str, ok: bool, evidence: str) -> None:
        status = "ok" if ok else "FAIL"
        self._record(Step(name, status, evidence, self._lap()))
        if not ok:
            raise _StepFailed(name)

    def skip(self, name: str, why: str) -> None:
        self._record(Step(name, "skipped", why, self._lap()))

    def _record(self, step: Step) -> None:
        self.report.steps.append(step)
        self.log(f"{'skip' if step.status == 'skipped' else step.status:<4} {step.name}: {step.evidence}")

    def _lap(self) -> float:
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        return round(elapsed, 2)

    def client(self, session: boto3.Session, service: str):
        return session.client(service, region_name=self.region, endpoint_url=self.accounts.endpoint_url, config=CLIENT_CONFIG)

    # --- 0. who the data scientist is -----------------------------------------------------

    def become_data_scientist(self) -> None:
        execution_arn = naming.execution_role_arn(self.env)
        try:
            if self.accounts.emulator is not None:
                self.me = _emulator_app_session(self.studio, self.region, self.domain_id, self.user)
            else:
                self.me = sessions.session(region_name=self.region)
            arn = self.client(self.me, "sts").get_caller_identity()["Arn"]
        except (JourneyError, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            self.step("data scientist's credentials", False, str(exc))
        role_name = execution_arn.rsplit("/", 1)[-1]
        expected = f":assumed-role/{role_name}/"
        self.step("data scientist's credentials", expected in arn,
                  f"{arn}" + ("" if expected in arn else f"; run the journey as a session of {execution_arn} "
                                                          "(a Studio terminal has one)"))

    # --- 1. discover ----------------------------------------------------------------------

    def discover(self) -> dict[str, str]:
        """Both ways Studio learns the EMR roles, which must agree: the Classic lifecycle
        script run in a sandbox home, and the JupyterLab EmrSettings of domain and profile."""
        sagemaker = self.client(self.me, "sagemaker")
        domain = sagemaker.describe_domain(DomainId=self.domain_id)
        profile = sagemaker.describe_user_profile(DomainId=self.domain_id, UserProfileName=self.user)
        expected = naming.discovery_role_arns(self.env)
        generation = self.env.promoted.studio_generation
        found: dict[str, dict[str, str] | list[str]] = {}
        if generation in (StudioGeneration.classic, StudioGeneration.both):
            found["Classic lifecycle script"] = self._run_classic_script(sagemaker, domain, profile)
        if generation in (StudioGeneration.jupyterlab, StudioGeneration.both):
            settings = profile.get("UserSettings", {}).get("JupyterLabAppSettings", {}).get("EmrSettings") \
                or domain.get("DefaultUserSettings", {}).get("JupyterLabAppSettings", {}).get("EmrSettings", {})
            found["JupyterLab EmrSettings"] = sorted(settings.get("AssumableRoleArns", []))
        role_sets = {where: sorted(v.values()) if isinstance(v, dict) else v for where, v in found.items()}
        agree = len({json.dumps(v) for v in role_sets.values()}) <= 1
        complete = all(v == sorted(expected.values()) for v in role_sets.values())
        detail = "; ".join(f"{where}: {value}" for where, value in role_sets.items())
        self.step("discover the EMR accounts", agree and complete,
                  detail if agree and complete else f"{detail}; expected {sorted(expected.values())}")
        return expected

    def _run_classic_script(self, sagemaker, domain: dict, profile: dict) -> dict[str, str]:
        settings = profile.get("UserSettings", {}).get("JupyterServerAppSettings") \
            or domain.get("DefaultUserSettings", {}).get("JupyterServerAppSettings", {})
        for arn in settings.get("LifecycleConfigArns", []):
            config = sagemaker.describe_studio_lifecycle_config(StudioLifecycleConfigName=arn.rsplit("/", 1)[-1])
            script = base64.b64decode(config["StudioLifecycleConfigContent"]).decode()
            with tempfile.TemporaryDirectory(prefix="studio-home-") as home:
                # The script writes under the Studio home; the sandbox stands in for it.
                sandboxed = script.replace(STUDIO_HOME, home)
                run = subprocess.run(["bash", "-c", sandboxed], cwd=home, capture_output=True, text=True,
                                     env={"HOME": home, "PATH": "/usr/bin:/bin"}, timeout=60)
                written = Path(home) / DISCOVERY_DIRECTORY.removeprefix(STUDIO_HOME + "/") / DISCOVERY_FILE_NAME
                if run.returncode != 0:
                    self.step("discover the EMR accounts", False, f"lifecycle script {arn} exited {run.returncode}: "
                                                                  f"{run.stderr.strip()[-300:]}")
                if written.is_file():
                    return json.loads(written.read_text())
        return {}

    # --- 2. find the template -------------------------------------------------------------

    def emr_session(self, account: EmrAccount, role_arns: dict[str, str]) -> boto3.Session:
        """The session Studio uses in an EMR account: the assumed discovery role, or, in the
        single-account layout, the execution role itself."""
        if account.account_id not in role_arns:
            return self.me
        sts = self.client(self.me, "sts")
        try:
            credentials = sts.assume_role(RoleArn=role_arns[account.account_id], RoleSessionName="SageMakerStudioUser")["Credentials"]
        except botocore.exceptions.ClientError as exc:
            self.step(f"assume the EMR role in {account.account_id}", False, _client_error(exc))
        self.step(f"assume the EMR role in {account.account_id}", True, role_arns[account.account_id])
        return sessions.session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                             aws_session_token=credentials["SessionToken"], region_name=account.region)

    def find_template(self, account: EmrAccount, session: boto3.Session) -> dict:
        catalog = self.client(session, "servicecatalog")
        name = naming.emr_product_name(self.env, account)
        try:
            products = all_pages(catalog, "search_products", "ProductViewSummaries")
        except botocore.exceptions.ClientError as exc:
            self.step(f"find the EMR template in {account.account_id}", False, _client_error(exc))
        product = next((p for p in products if p["Name"] == name), None)
        self.step(f"find the EMR template in {account.account_id}", product is not None,
                  f"{product['ProductId']} {name!r}" if product else
                  f"SearchProducts lists {[p['Name'] for p in products]}, not {name!r}")
        return product

    # --- 3. launch ------------------------------------------------------------------------

    def launch(self, account: EmrAccount, session: boto3.Session, product: dict, timeout: float) -> _Cluster:
        catalog = self.client(session, "servicecatalog")
        label = f"launch a cluster in {account.account_id}"
        try:
            artifacts = catalog.describe_product(Id=product["ProductId"])["ProvisioningArtifacts"]
            path_id = catalog.list_launch_paths(ProductId=product["ProductId"])["LaunchPathSummaries"][0]["Id"]
        except (botocore.exceptions.ClientError, IndexError, KeyError) as exc:
            self.step(label, False, f"no launch path for {product['ProductId']}: {exc}")
        artifact_id = artifacts[-1]["Id"]
        guardrails = self.env.promoted.service_catalog
        bad_type = next(t for t in DISALLOWED_INSTANCE_TYPES if t not in guardrails.allowed_instance_types)
        base = {"ProductId": product["ProductId"], "ProvisioningArtifactId": artifact_id, "PathId": path_id}
        refused = self._provision_refused(catalog, base, bad_type, timeout)
        self.step(f"the template refuses instance type {bad_type}", refused is not None,
                  refused or "a cluster of a type outside AllowedValues was launched")
        name = f"{naming.prefix(self.env)}-journey-{uuid.uuid4().hex[:6]}"
        parameters = [
            {"Key": "ClusterName", "Value": name},
            {"Key": "InstanceType", "Value": guardrails.allowed_instance_types[0]},
            {"Key": "CoreInstanceCount", "Value": str(guardrails.core_node_counts[0])},
        ]
        try:
            record = catalog.provision_product(**base, ProvisionedProductName=name, ProvisioningParameters=parameters,
                                               ProvisionToken=uuid.uuid4().hex)["RecordDetail"]
        except botocore.exceptions.ClientError as exc:
            self.step(label, False, _client_error(exc))
        detail = self._wait_for_record(catalog, record["RecordId"], timeout)
        cluster = _Cluster(account, "", record.get("ProvisionedProductId") or detail.get("ProvisionedProductId"))
        if detail["Status"] != "SUCCEEDED":
            self.clusters.append(cluster)
            self.step(label, False, f"record {record['RecordId']} {detail['Status']}: {detail.get('RecordErrors')}")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in detail.get("RecordOutputs", [])}
        cluster.cluster_id = outputs.get("ClusterId", "")
        cluster.stack_arn = outputs.get("CloudformationStackARN")
        self.clusters.append(cluster)
        emr = self.client(session, "emr")
        try:
            emr.get_waiter("cluster_running").wait(ClusterId=cluster.cluster_id,
                                                    WaiterConfig={"Delay": self.poll_seconds, "MaxAttempts": int(timeout / self.poll_seconds)})
        except botocore.exceptions.WaiterError as exc:
            self.step(label, False, f"cluster {cluster.cluster_id} did not reach RUNNING/WAITING: {exc}")
        state = emr.describe_cluster(ClusterId=cluster.cluster_id)["Cluster"]["Status"]["State"]
        self.step(label, True, f"{name}: record {record['RecordId']} SUCCEEDED, cluster {cluster.cluster_id} {state}")
        return cluster

    def _provision_refused(self, catalog, base: dict, instance_type: str, timeout: float) -> str | None:
        """How a parameter outside AllowedValues is refused: at the call, or by its record."""
        try:
            record = catalog.provision_product(
                **base, ProvisionedProductName=f"{naming.prefix(self.env)}-refused-{uuid.uuid4().hex[:6]}",
                ProvisioningParameters=[{"Key": "InstanceType", "Value": instance_type}], ProvisionToken=uuid.uuid4().hex,
            )["RecordDetail"]
        except botocore.exceptions.ClientError as exc:
            return f"ProvisionProduct refused: {_client_error(exc)}"
        detail = self._wait_for_record(catalog, record["RecordId"], timeout)
        # A failed launch leaves its provisioned product behind in ERROR, on AWS too: terminate it,
        # so that the journey leaves nothing.
        pp_id = record.get("ProvisionedProductId") or detail.get("ProvisionedProductId")
        if pp_id:
            try:
                terminated = catalog.terminate_provisioned_product(ProvisionedProductId=pp_id, TerminateToken=uuid.uuid4().hex)
                self._wait_for_record(catalog, terminated["RecordDetail"]["RecordId"], timeout)
            except botocore.exceptions.ClientError:
                pass  # what is left is listed by `inventory` and terminated by `destroy`
        if detail["Status"] == "FAILED":
            return f"record {record['RecordId']} FAILED: {detail.get('RecordErrors')}"
        return None

    def _wait_for_record(self, catalog, record_id: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            detail = catalog.describe_record(Id=record_id)
            record = {**detail["RecordDetail"], "RecordOutputs": detail.get("RecordOutputs", [])}
            if record["Status"] in ("SUCCEEDED", "FAILED"):
                return record
            if time.monotonic() > deadline:
                return {**record, "Status": f"still {record['Status']} after {timeout:.0f} s"}
            time.sleep(self.poll_seconds)

    # --- 4. connect -----------------------------------------------------------------------

    def connect(self, cluster: _Cluster, session: boto3.Session) -> dict:
        label = f"connect to Livy on {cluster.cluster_id}"
        try:
            found = resolve_primary_node(session, cluster.cluster_id, cluster.account.region, self.accounts.endpoint_url)
        except JourneyError as exc:
            self.step(label, False, str(exc))
        if "error" in found:
            self.step(label, False, f"EMRCluster: {found['error']}")
        emr = self.client(session, "emr")
        described = emr.describe_cluster(ClusterId=cluster.cluster_id)["Cluster"]
        subnet_id = described["Ec2InstanceAttributes"]["Ec2SubnetId"]
        subnet = self.accounts.emr(cluster.account).client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
        inside = found["private_ip"] and ipaddress.ip_address(found["private_ip"]) in ipaddress.ip_network(subnet["CidrBlock"])
        endpoint = f"http://{found['private_dns_name']}:{LIVY_PORT}"
        self.step(label, bool(inside), f"{endpoint} (primary {found['instance_id']}, {found['private_ip']} in "
                                       f"{subnet_id} {subnet['CidrBlock']})")
        return {**found, "subnet_id": subnet_id, "cluster": described}

    # --- 5. reachability ------------------------------------------------------------------

    def reachable(self, cluster: _Cluster, primary: dict) -> None:
        domain = self.client(self.studio.session, "sagemaker").describe_domain(DomainId=self.domain_id)
        studio_ec2 = self.studio.client("ec2")
        emr_session = self.accounts.emr(cluster.account)
        emr_ec2 = emr_session.client("ec2")
        attributes = primary["cluster"]["Ec2InstanceAttributes"]
        primary_groups = [g for g in [attributes.get("EmrManagedMasterSecurityGroup")] if g] \
            + attributes.get("AdditionalMasterSecurityGroups", [])
        destination = reachability.endpoint(emr_ec2, cluster.account.account_id, primary["private_ip"],
                                            primary["subnet_id"], primary_groups)
        studio_groups = domain.get("DefaultUserSettings", {}).get("SecurityGroups", [])
        peerings = _peerings_of(studio_ec2, domain["VpcId"])
        results = []
        for subnet_id in domain["SubnetIds"]:
            subnet = studio_ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
            source = reachability.endpoint(studio_ec2, self.env.environment.studio_account.account_id,
                                           reachability.app_address(subnet), subnet_id, studio_groups)
            for port in self.env.promoted.studio_to_emr_ports:
                results.append(reachability.analyze(source, destination, port, peerings))
        broken = [r for r in results if not r.ok]
        evidence = "; ".join(r.explain() for r in (broken or results[:1]))
        if not broken:
            evidence = f"{len(results)} paths ({len(domain['SubnetIds'])} domain subnets x ports " \
                       f"{self.env.promoted.studio_to_emr_ports}) reachable both ways; e.g. {evidence}"
        self.step(f"Studio reaches {cluster.cluster_id} and replies return", not broken, evidence)

    # --- 6. the Classic notebook instance (SM-5) ------------------------------------------

    def classic_notebook(self, cluster: _Cluster, primary: dict) -> None:
        """The notebook's on-start script, run in a sandbox with the notebook's role (the
        execution role) against the launched cluster, must point sparkmagic at its Livy."""
        label = f"Classic notebook's lifecycle script finds {cluster.cluster_id}"
        sagemaker = self.client(self.me, "sagemaker")
        name = naming.notebook_instance_name(self.env)
        try:
            instance = sagemaker.describe_notebook_instance(NotebookInstanceName=name)
            config = sagemaker.describe_notebook_instance_lifecycle_config(
                NotebookInstanceLifecycleConfigName=instance["NotebookInstanceLifecycleConfigName"])
        except (botocore.exceptions.ClientError, KeyError) as exc:
            self.step(label, False, f"notebook instance {name}: {exc}")
        try:
            url = render_livy_url_in_sandbox(config["OnStart"][0]["Content"], self.me, self.region,
                                             self.accounts.endpoint_url, cluster.cluster_id, STUDIO_CLIENT_PYTHON)
        except NotebookScriptError as exc:
            self.step(label, False, str(exc))
        expected = f"http://{primary['private_ip']}:{LIVY_PORT}"
        self.step(label, url == expected, f"{name} ({instance['NotebookInstanceStatus']}): sparkmagic -> {url}"
                  + ("" if url == expected else f", expected {expected}"))

    # --- 7. clean up ----------------------------------------------------------------------

    def clean_up(self, cluster: _Cluster, session: boto3.Session, timeout: float) -> None:
        label = f"clean up {cluster.cluster_id or cluster.provisioned_product_id}"
        if cluster.provisioned_product_id is None:
            self.skip(label, "nothing was provisioned")
            return
        catalog = self.client(session, "servicecatalog")
        try:
            record = catalog.terminate_provisioned_product(ProvisionedProductId=cluster.provisioned_product_id,
                                                           TerminateToken=uuid.uuid4().hex)["RecordDetail"]
        except botocore.exceptions.ClientError as exc:
            self.step(label, False, _client_error(exc))
        detail = self._wait_for_record(catalog, record["RecordId"], timeout)
        if detail["Status"] != "SUCCEEDED":
            self.step(label, False, f"terminate record {record['RecordId']} {detail['Status']}: {detail.get('RecordErrors')}")
        admin = self.accounts.emr(cluster.account)
        state = "no cluster"
        if cluster.cluster_id:
            try:
                admin.client("emr").get_waiter("cluster_terminated").wait(
                    ClusterId=cluster.cluster_id, WaiterConfig={"Delay": self.poll_seconds, "MaxAttempts": int(timeout / self.poll_seconds)})
            except botocore.exceptions.WaiterError as exc:
                self.step(label, False, f"cluster {cluster.cluster_id} not terminated: {exc}")
            state = admin.client("emr").describe_cluster(ClusterId=cluster.cluster_id)["Cluster"]["Status"]["State"]
        stack_state = _stack_state(admin.client("cloudformation"), cluster.stack_arn)
        self.step(label, stack_state in ("DELETE_COMPLETE", "gone"),
                  f"record {record['RecordId']} SUCCEEDED; cluster {state}; stack {cluster.stack_arn}: {stack_state}")

    # --- the whole journey ----------------------------------------------------------------

    def run(self, launch: bool, cluster_id: str | None, timeout: float) -> JourneyReport:
        if self.domain_id is None:
            self.step("domain exists", False, f"no domain {self.env.environment.domain.name!r}: deploy first")
        self.become_data_scientist()
        role_arns = self.discover()
        for account in self.env.environment.emr_accounts:
            session = self.emr_session(account, role_arns)
            product = self.find_template(account, session)
            try:
                if launch:
                    cluster = self.launch(account, session, product, timeout)
                elif cluster_id:
                    try:
                        self.client(session, "emr").describe_cluster(ClusterId=cluster_id)
                    except botocore.exceptions.ClientError as exc:
                        self.skip(f"connect to {cluster_id} in {account.account_id}", f"not found there ({_client_error(exc)})")
                        continue
                    cluster = _Cluster(account, cluster_id)
                else:
                    self.skip(f"launch, connect and reach a cluster in {account.account_id}",
                              "on AWS a launch costs money and about ten minutes: pass --launch, or --cluster-id ID")
                    continue
                primary = self.connect(cluster, session)
                self.reachable(cluster, primary)
                if self.env.promoted.classic_notebook_instance:
                    self.classic_notebook(cluster, primary)
            finally:
                for launched in self.clusters:
                    self.clean_up(launched, session, timeout)
                self.clusters.clear()
        return self.report


def journey(env_name: str, launch: bool | None = None, cluster_id: str | None = None, user: str | None = None,
            timeout: float | None = None, workspace: Workspace = Workspace(), log=print) -> JourneyReport:
    """Run the journey against a deployed environment. On the emulator the launch and clean-up
    steps always run; on AWS only with ``launch`` (or connect to ``cluster_id``)."""
    env = load_env(env_name)
    start = time.monotonic()
    profiles = env.environment.domain.user_profiles
    if user is None:
        if not profiles:
            raise JourneyError(f"envs/{env_name}.yaml: environment.domain.user_profiles is empty; the journey needs a data scientist")
        user = profiles[0]
    elif user not in profiles:
        raise JourneyError(f"envs/{env_name}.yaml: environment.domain.user_profiles has no {user!r} "
                           f"(profiles: {', '.join(profiles)})")
    emulator = None
    if env.environment.target is Target.emulator:
        emulator = emulator_control.current(workspace.state_root)
        if emulator is None:
            raise JourneyError(f"no emulator is running; run `python main.py deploy --env {env_name}` first")
        launch = True if launch is None else launch
    accounts = Accounts(env, emulator)
    accounts.preflight()
    run = _Journey(env, accounts, user, log)
    try:
        run.run(bool(launch), cluster_id, timeout or (300 if emulator else 1800))
    except _StepFailed:
        pass
    run.report.seconds = time.monotonic() - start
    return run.report


def resolve_primary_node(session: boto3.Session, cluster_id: str, region: str, endpoint_url: str | None) -> dict:
    """The primary node as sagemaker-studio-sparkmagic-lib's EMRCluster resolves it with this
    session's credentials, run in the Studio-side virtualenv: its fields, or {"error": ...}."""
    if not STUDIO_CLIENT_PYTHON.is_file():
        raise JourneyError(f"{STUDIO_CLIENT_PYTHON} is missing: run `bash scripts/setup`")
    credentials = session.get_credentials().get_frozen_credentials()
    args = {"cluster_id": cluster_id, "region": region, "endpoint_url": endpoint_url,
            "access_key_id": credentials.access_key, "secret_access_key": credentials.secret_key,
            "session_token": credentials.token}
    run = subprocess.run([str(STUDIO_CLIENT_PYTHON), str(CONNECT_PROBE), json.dumps(args)], capture_output=True,
                         text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "AWS_EC2_METADATA_DISABLED": "true"})
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        raise JourneyError(f"the Studio-side client exited {run.returncode}: {run.stderr.strip()[-400:]}")
    return json.loads(lines[-1])


def _emulator_app_session(studio, region: str, domain_id: str, user: str) -> boto3.Session:
    """The credentials ``user``'s Studio app holds, entered as AWS lets one enter it: a presigned
    domain URL (an IAM-authorized call of the platform team), opened. The emulator's SageMaker
    assumes the profile's execution role as sagemaker.amazonaws.com, which the role's trust must allow."""
    url = studio.client("sagemaker").create_presigned_domain_url(DomainId=domain_id, UserProfileName=user)["AuthorizedUrl"]
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            credentials = json.loads(response.read())["Credentials"]
    except urllib.error.HTTPError as exc:
        raise JourneyError(f"the emulator's SageMaker would not start an app for {user!r}: {exc.read().decode()[:300]}") from None
    return sessions.session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=region)


def _peerings_of(ec2, vpc_id: str) -> dict[str, dict]:
    """Every peering connection of the Studio VPC, whatever its state, by id."""
    return {c["VpcPeeringConnectionId"]: c for c in all_pages(ec2, "describe_vpc_peering_connections", "VpcPeeringConnections")
            if vpc_id in (c["RequesterVpcInfo"]["VpcId"], c["AccepterVpcInfo"]["VpcId"])}


def _stack_state(cloudformation, stack_id: str | None) -> str:
    if not stack_id:
        return "unknown (the launch record named no CloudformationStackARN)"
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
    except botocore.exceptions.ClientError as exc:
        return "gone" if "does not exist" in str(exc) else _client_error(exc)
    return stacks[0]["StackStatus"] if stacks else "gone"


def _client_error(exc: botocore.exceptions.ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code')}: {error.get('Message')}"
