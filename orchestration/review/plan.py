"""`plan`: plan every stack of an environment with its own account's credentials and review
the result; `--emulator` plans against the embedded emulator, for CI without AWS credentials.

An emulator this command starts is stopped when it ends (a CI runner keeps no server behind); one
that was already running, for a deployed environment, is left running."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from config import ConfigError, EnvironmentFile, StudioEmrError, Target, load_env
from config.model import LocalState, S3State
from stacks import naming

from orchestration.aws import inventory
from orchestration.aws.accounts import Accounts
from orchestration.aws.kubernetes import foreign_oidc_provider
from orchestration.deploy import terraform_concurrency, waves
from orchestration.local import emulator as emulator_control
from orchestration.local.lock import EnvironmentLock
from orchestration.review import mock_inputs
from orchestration.review.graph import review_topology
from orchestration.review.policy import checkov, cfn_lint, iam_lint
from orchestration.review.report import Review, StackPlan, risks
from orchestration.terraform.runner import Terraform
from orchestration.terraform.synth import Workspace, synth_env

EMULATOR_PLANS = "emulator-plans"


def as_emulator(env: EnvironmentFile) -> EnvironmentFile:
    """The same environment aimed at the emulator: its accounts entered by AssumeRole, local state."""
    settings = env.environment
    return env.model_copy(update={"environment": settings.model_copy(update={
        "target": Target.emulator,
        "state": LocalState(),
        "studio_account": settings.studio_account.model_copy(update={"credentials": None}),
        "emr_accounts": [a.model_copy(update={"credentials": None}) for a in settings.emr_accounts],
    })})


def plan_env(env: EnvironmentFile, emulator: bool = False, workspace: Workspace = Workspace(), log=print) -> Review:
    if emulator and env.environment.target is not Target.emulator:
        env = as_emulator(env)
        workspace = Workspace(workspace.out_root / EMULATOR_PLANS, workspace.state_root / EMULATOR_PLANS)
    # A plan reads the state a deploy or destroy is writing: one command at a time per environment.
    with EnvironmentLock(workspace.state_root, env.environment.name, "plan"):
        return _plan_targeted(env, workspace, log)


def _plan_targeted(env: EnvironmentFile, workspace: Workspace, log) -> Review:
    if env.environment.target is not Target.emulator:
        return _plan(env, None, workspace, log)
    running = emulator_control.current(workspace.state_root)
    if running is not None:
        return _plan(env, running, workspace, log)
    started = emulator_control.ensure_running([env.environment.name], workspace.state_root, log)
    try:
        return _plan(env, started, workspace, log)
    finally:
        emulator_control.stop(workspace.state_root)
        log(f"emulator: stopped (pid {started.pid}), which this plan started")


def _plan(env: EnvironmentFile, running: emulator_control.Emulator | None, workspace: Workspace, log) -> Review:
    accounts = Accounts(env, running)
    accounts.preflight()
    # IAM-6: a cluster that is missing fails its own stack's plan with the file, key and value;
    # the other stacks are still planned and reviewed.
    kubernetes_stack, kubernetes_error, reuse = naming.kubernetes_stack(env), None, False
    try:
        reuse = foreign_oidc_provider(env, accounts) is not None
    except ConfigError as exc:
        kubernetes_error = str(exc)
    result = synth_env(env, workspace, reuse_oidc_provider=reuse, isolated=True)
    s3_state = isinstance(env.environment.state, S3State)
    def applied(stack: str) -> bool:
        return s3_state or workspace.local_state(env.environment.name, stack).is_file()

    def plan_stack(stack: str) -> StackPlan:
        entry = StackPlan(stack, result.account_of(stack), result.region_of(stack))
        entry.waiting_on = [d for d in result.dependencies[stack] if not applied(d)]
        if stack == kubernetes_stack and kubernetes_error:
            entry.error = kubernetes_error
            return entry
        if entry.waiting_on:
            # Planned all the same, on placeholders for what it reads from the stacks it waits for.
            terraform = Terraform(stack, mock_inputs.prepare(result, stack, entry.waiting_on), accounts.terraform_env())
            init = terraform.init
        else:
            terraform = Terraform(stack, result.stack_dir(stack), accounts.terraform_env())
            init = terraform.ensure_init
        try:
            init()
            summary = terraform.plan()
            entry.plan = terraform.show_plan()
        except StudioEmrError as exc:
            entry.error = str(exc)
            return entry
        mocked = f" (on mock values of what it reads from {', '.join(entry.waiting_on)}, never applied)" if entry.waiting_on else ""
        log(f"[{stack}] planned{mocked}: {summary.add} to add, {summary.change} to change, {summary.remove} to destroy")
        return entry

    plans: list[StackPlan] = []
    with ThreadPoolExecutor(max_workers=terraform_concurrency()) as pool:
        for wave in waves(result.dependencies):
            plans += list(pool.map(plan_stack, wave))
    order = {stack: i for i, stack in enumerate(result.stacks)}
    plans.sort(key=lambda p: order[p.stack])
    state_bucket = env.environment.state.bucket if s3_state else None
    found_risks = [r for p in plans for r in risks(p, state_bucket)]
    findings = iam_lint(result) + cfn_lint(result)
    for entry in plans:
        if entry.plan is not None:
            findings += checkov(result, entry.stack, entry.plan)
    review = Review(env.environment.name, plans, found_risks, findings)
    review.topology = review_topology(env, plans)
    try:
        review.outside = inventory.build(env, accounts, result).outside_terraform()
    except StudioEmrError as exc:
        review.outside_note = f"Could not be read: {exc}"
    return review


def plan(env_name: str, emulator: bool = False, workspace: Workspace = Workspace(), log=print) -> Review:
    return plan_env(load_env(env_name), emulator, workspace, log)
