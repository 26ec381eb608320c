"""studio-emr: SageMaker Studio wired to EMR across accounts, as code.

Each command takes --env NAME, the environment file envs/NAME.yaml. Commands parse their
options, call one library function and render its result; errors go to stderr with an exit
code: 2 for an invalid environment file or a refused promotion, 1 for anything else that
failed. `plan` also tells CI apart no changes (0), changes (2) and risky changes (3).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _use_project_toolchain() -> None:
    """Run under the project's virtualenv, with its Node 22 first on PATH (jsii spawns `node`)."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    if not venv_python.is_file():
        sys.exit("error: the project is not set up on this machine: run `bash scripts/setup` first")
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        os.execv(str(venv_python), [str(venv_python), *sys.argv])
    node_bin = str(ROOT / "node_modules" / ".bin")
    if node_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = node_bin + os.pathsep + os.environ.get("PATH", "")


_use_project_toolchain()
# Run as the installed `studio-emr` command, the project's packages are found from here.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from typing import Annotated, Callable, TypeVar  # noqa: E402

import typer  # noqa: E402

from config import StudioEmrError, available_envs  # noqa: E402

app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)

EnvOption = Annotated[
    str,
    typer.Option(
        "--env",
        "-e",
        help=f"Environment to use: a file in envs/ without .yaml ({', '.join(available_envs()) or 'none yet'}).",
        show_default=False,
    ),
]

T = TypeVar("T")


def _call(action: Callable[[], T]) -> T:
    """Run one library call; a typed error becomes a message on stderr and its exit code."""
    try:
        return action()
    except StudioEmrError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.secho("interrupted: Terraform saved what it finished; run the same command again to finish the job",
                    err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(130) from None


@app.command()
def validate(env: EnvOption) -> None:
    """Check envs/ENV.yaml against the schema and the cross-field rules, before anything is
    synthesized or called: account ids, CIDRs inside their VPC, peered VPCs that do not overlap,
    ports, the Classic 5-account limit, credentials for real AWS.

    Example: python main.py validate --env dev
    """
    from config import load_env
    from stacks.topology import Topology

    model = _call(lambda: load_env(env))
    settings = model.environment
    layout = "single-account (no peering)" if model.is_single_account else "cross-account (VPC peering)"
    typer.echo(f"envs/{env}.yaml is valid: {layout}, target {settings.target.value}")
    typer.echo(f"  studio account {settings.studio_account.account_id} ({settings.studio_account.region})")
    for account in settings.emr_accounts:
        typer.echo(f"  EMR account    {account.account_id} ({account.region}) -> stack {account.stack_id}")
    typer.echo("  stacks, in apply order:")
    for spec in Topology.of(model).stacks:
        after = f", after {', '.join(spec.depends_on)}" if spec.depends_on else ""
        typer.echo(f"    {spec.id} ({spec.kind.value} in {spec.account_id}{after})")


@app.command()
def synth(
    env: EnvOption,
    check: Annotated[
        bool, typer.Option("--check", help="Also run `terraform validate` on every stack (provider mirror, no state).")
    ] = False,
) -> None:
    """Validate envs/ENV.yaml and write one Terraform JSON configuration per stack to
    `cdktf.out/ENV/stacks/STACK/cdk.tf.json`.

    Example: python main.py synth --env dev --check
    """
    from orchestration.terraform.synth import synth as synthesize
    from orchestration.terraform.synth import terraform_validate

    result = _call(lambda: synthesize(env))
    for stack in result.stacks:
        after = ", ".join(result.dependencies[stack]) or "nothing"
        typer.echo(f"{stack:<24} {_shown(result.stack_dir(stack))}  (after: {after})")
    if check:
        errors = _call(lambda: terraform_validate(result))
        failed = {stack: diags for stack, diags in errors.items() if diags}
        for stack, diags in failed.items():
            for diag in diags:
                typer.secho(f"{stack}: {diag}", err=True, fg=typer.colors.RED)
        typer.echo(f"terraform validate: {len(errors) - len(failed)} of {len(errors)} stacks valid")
        if failed:
            raise typer.Exit(1)


YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Approve without being asked (for CI). Without a terminal, commands that change "
                 "real accounts refuse to run unless given this."),
]


def _interactive() -> bool:
    return sys.stdin.isatty()


@contextlib.contextmanager
def _progress_display():
    """On a terminal, a live bar per stack (resources done of the total, time elapsed); in CI,
    plain lines with no control characters. Yields (log, on_progress) for deploy and destroy."""
    if not sys.stdout.isatty():
        yield typer.echo, None
        return
    from orchestration.local.progress import LiveProgress

    with LiveProgress() as display:
        yield display.log, display.update


def _approve(env: str, question: str, type_name: bool, yes: bool) -> None:
    """Ask before changing accounts, as Terraform and the CDK CLI do: a yes, or for what cannot
    be undone the environment's name typed back. ``--yes`` answers for CI; without a terminal
    and without it, refuse rather than guess."""
    if yes:
        return
    if not _interactive():
        typer.secho(f"error: {question} There is no terminal to ask on: pass --yes to approve (as CI does). "
                    "Nothing was changed.", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    if type_name:
        typed = typer.prompt(f"{question}\nType the environment's name to approve", default="", show_default=False)
        if typed.strip() != env:
            typer.secho(f"aborted: {typed.strip()!r} is not {env!r}; nothing was changed", err=True, fg=typer.colors.YELLOW)
            raise typer.Exit(1)
    elif not typer.confirm(question, default=False):
        typer.secho("aborted: nothing was changed", err=True, fg=typer.colors.YELLOW)
        raise typer.Exit(1)


StackArgument = Annotated[
    list[str] | None,
    typer.Argument(help="Only these stacks (in dependency order); default: every stack of the environment.", show_default=False),
]


@app.command()
def deploy(
    env: EnvOption,
    stacks: StackArgument = None,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Re-plan every stack against the live resources, even those unchanged since their last apply."),
    ] = False,
    yes: YesOption = False,
) -> None:
    """Validate, synthesize, then apply every stack in dependency order, each with its own
    account's credentials, and perform the peering handshake (request, wait for
    pending-acceptance, accept, wait for active, DNS options, routes, SG references).

    On AWS it plans first and prints the review (risky changes first), then asks before applying
    anything: a yes, or the environment's name typed back when a change is risky. `--yes`
    approves for CI. The emulator target applies without asking, but says each risky change as
    its stack's plan finds it, and lists them all at the end.

    With target `emulator` (envs/local.yaml) it starts the embedded AWS emulator on
    127.0.0.1 first. Safe to re-run: a deploy after success changes nothing and says so, and a
    deploy after an interruption finishes the job. Stacks unchanged since their last successful
    apply are skipped; `--refresh` re-plans them against the live resources (drift).

    Example: python main.py deploy --env local
    """
    from config import Target, load_env
    from orchestration.deploy import deploy as run_deploy
    from orchestration.review.plan import plan as run_plan

    if _call(lambda: load_env(env)).environment.target is Target.aws:
        review = _call(lambda: run_plan(env, log=lambda line: typer.echo(line, err=True)))
        typer.echo(review.to_markdown())
        if review.failed:
            typer.secho("error: some stacks could not be planned (see above); nothing was applied", err=True, fg=typer.colors.RED)
            raise typer.Exit(1)
        if review.with_changes or any(p.waiting_on for p in review.plans):
            risky = f" {len(review.risks)} of them are risky." if review.risks else ""
            _approve(env, f"Apply the changes above to {env}?{risky}", type_name=bool(review.risks), yes=yes)
    with _progress_display() as (log, on_progress):
        report = _call(lambda: run_deploy(env, stacks, refresh=refresh, log=log, on_progress=on_progress))
    if report.risks:
        from orchestration.review.report import risky_section

        typer.echo("\n".join(risky_section(report.risks)))
    verdict = "deployed" if report.changed else "no changes: everything was already deployed"
    typer.secho(f"{env}: {verdict} ({len(report.outcomes)} stacks, {report.seconds:.0f} s)", fg=typer.colors.GREEN)
    typer.echo(f"next: python main.py verify --env {env}")


@app.command()
def verify(
    env: EnvOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check the deployed path through the live APIs, not state: peering active with DNS on
    both sides, routes both ways, EMR SG admitting the Studio SG on the configured ports, the EMR
    role trusting the execution role, the domain VPC-only with the right role ARNs, the Service
    Catalog product visible with its launch constraint. Exits 1 if any check fails.

    Example: python main.py verify --env local --json
    """
    from orchestration.aws.verify import verify as run_verify

    report = _call(lambda: run_verify(env))
    if as_json:
        typer.echo(report.to_json())
    else:
        for check in report.checks:
            mark = typer.style("ok  ", fg=typer.colors.GREEN) if check.ok else typer.style("FAIL", fg=typer.colors.RED)
            typer.echo(f"{mark} {check.name}: {check.detail}")
        passed = sum(c.ok for c in report.checks)
        typer.echo(f"{passed} passed, {len(report.checks) - passed} failed")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def graph(
    env: EnvOption,
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="mermaid: a flowchart for markdown (a subgraph per account); svg: a "
                     "picture for docs, Graphviz run as WebAssembly (@viz-js/viz); dot: the Graphviz source."),
    ] = "mermaid",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: print). A .md file gets a "
                                  "```mermaid block.")
    ] = None,
    live: Annotated[
        bool, typer.Option("--live/--no-live", help="Read the live APIs when the environment is deployed (target aws, "
                           "or its emulator is running); --no-live draws envs/ENV.yaml alone, without credentials.")
    ] = True,
) -> None:
    """Draw the environment's topology: the Studio account and each EMR account with their VPCs
    (CIDR, private subnets), the peering connections with their state, the routes both ways
    (Studio subnets to each EMR CIDR, EMR back to the Studio CIDR, through the peering), the SG
    rule that admits the Studio SG to the EMR primary SG on `promoted.studio_to_emr_ports`, and
    the role Studio's execution role assumes in each EMR account.

    From envs/ENV.yaml alone everything is *planned*. When the environment is deployed, the live
    APIs add each peering's id and state (active, pending-acceptance, ...), whether each side's
    route tables hold the route, the ports actually admitted and whether the role trusts the
    execution role; what is missing is drawn dashed and says so. An EMR account that is the
    Studio account (single-account layout) has no peering, routes or role: its SG sits in the
    Studio VPC. `plan`'s review embeds the same picture with the edges its plans change marked.

    Example: python main.py graph --env prod --format svg -o docs/prod.svg
    """
    from orchestration.review.graph import FORMATS
    from orchestration.review.graph import graph as draw

    if fmt not in FORMATS:
        typer.secho(f"error: --format {fmt!r}: one of {', '.join(FORMATS)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    drawing = _call(lambda: draw(env, fmt, use_live=live))
    text = drawing.text
    if output:
        if fmt == "mermaid" and output.suffix.lower() == ".md":
            text = f"```mermaid\n{text}```\n"
        output.write_text(text)
        typer.echo(f"wrote {output} ({fmt}), drawn from {drawing.source}", err=True)
    else:
        typer.echo(text, nl=False)
        typer.echo(f"drawn from {drawing.source}", err=True)


@app.command()
def inventory(
    env: EnvOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the inventory as JSON.")] = False,
) -> None:
    """List, per account, what exists for the environment: what each stack's state holds; what
    SageMaker, EMR and Service Catalog made on its behalf (spaces, apps, the home EFS, the NFS
    security groups, clusters launched from the product); and orphans: resources tagged for the
    environment that no state holds (for example after a killed apply), each with the command
    that removes it. Read-only. Exits 1 when orphans exist.

    Example: python main.py inventory --env local --json
    """
    from orchestration.aws.inventory import inventory as run_inventory

    result = _call(lambda: run_inventory(env))
    typer.echo(result.to_json() if as_json else result.render())
    if result.orphans:
        raise typer.Exit(1)


@app.command()
def journey(
    env: EnvOption,
    launch: Annotated[
        bool | None,
        typer.Option("--launch/--no-launch", help="Launch a cluster from the product and terminate it after "
                     "(default: on for the emulator, off on AWS, where it costs money and about ten minutes)."),
    ] = None,
    cluster_id: Annotated[
        str | None, typer.Option("--cluster-id", help="Connect to this running cluster instead of launching one (AWS).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="The data scientist: a user profile of the domain (default: the first).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the steps as JSON.")] = False,
) -> None:
    """Do what a data scientist does, as the data scientist (the Studio execution role, never
    admin): discover the EMR accounts as Studio does (the Classic lifecycle script, run in a
    sandbox home, and the JupyterLab EmrSettings), assume each EMR account's role, find the EMR
    template, launch a cluster from it (a disallowed instance type must be refused), resolve Livy
    with the real client library (sagemaker-studio-sparkmagic-lib's EMRCluster), prove from both
    accounts' network data that every domain subnet reaches the primary node on every configured
    port and that replies return (naming the first hop that breaks it), then terminate the
    cluster. One line per step; exit 1 on any failure.

    Example: python main.py journey --env local
    """
    from orchestration.aws.journey import journey as run_journey

    echo = (lambda line: None) if as_json else typer.echo
    report = _call(lambda: run_journey(env, launch=launch, cluster_id=cluster_id, user=user, log=echo))
    if as_json:
        typer.echo(report.to_json())
    else:
        counts = {status: sum(s.status == status for s in report.steps) for status in ("ok", "FAIL", "skipped")}
        typer.echo(f"{counts['ok']} passed, {counts['FAIL']} failed" + (f", {counts['skipped']} skipped" if counts["skipped"] else "")
                   + f" ({report.seconds:.0f} s)")
    if not report.ok:
        raise typer.Exit(1)


@app.command("env")
def shell_env(env: EnvOption) -> None:
    """Print the shell exports the CDK CLI needs to deploy this environment, for
    `eval "$(python main.py env --env ENV)"`: Terraform's CLI configuration (the AWS provider
    from this machine's mirror), STUDIO_EMR_ENV, and on the emulator its address and keys (the
    emulator is started if needed, left running, and the environment's accounts enrolled).

    The CDK CLI then applies the stacks in dependency order (`npx cdktn deploy '*'`). Only
    `main.py deploy` adds the preflight of every account's credentials, the environment lock,
    the peering handshake's waits between stacks, the adoption of what an interrupted apply left,
    and the domain's subnet sync.

    Where no Terraform registry is reachable, add --skip-provider-lock to the CDK CLI.

    Example: eval "$(python main.py env --env local)" && npx cdktn deploy '*' --auto-approve --skip-provider-lock
    """
    from orchestration.local.cdk_cli import shell_exports

    for line in _call(lambda: shell_exports(env, log=lambda message: typer.echo(message, err=True))):
        typer.echo(line)


@app.command("kube-values")
def kube_values(
    env: EnvOption,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the YAML to this file (default: print it).")] = None,
) -> None:
    """Print what the cluster side of IAM-6 needs: the controller's service account annotated
    with `eks.amazonaws.com/role-arn`, as Helm values for the ACK SageMaker controller
    (`promoted.kubernetes.controller: ack`) or as the ServiceAccount of seed 004's operator.

    Example: python main.py kube-values --env local -o ack-values.yaml
    """
    from orchestration.aws.kubernetes import kube_values as render

    values = _call(lambda: render(env))
    if output:
        output.write_text(values.text)
        typer.echo(f"wrote {output}: {values.namespace}/{values.service_account} -> {values.controller_role_arn}")
    else:
        typer.echo(values.text, nl=False)


@app.command()
def destroy(
    env: EnvOption,
    yes: YesOption = False,
    terminate_clusters: Annotated[
        bool, typer.Option("--terminate-clusters", help="Also terminate the EMR clusters users launched for this environment "
                           "(from its Service Catalog product, or into its subnets). Without it, destroy refuses while any exists.")
    ] = False,
) -> None:
    """Remove everything the environment made, in the order AWS needs, then destroy every stack
    in reverse dependency order, each with its own account's credentials.

    Before the stacks, it removes what AWS and users made outside Terraform: clusters launched
    from the product (only with --terminate-clusters), Studio apps, spaces and user profiles, the
    domain (with the environment's home EFS retention policy), the home EFS's mount targets (and
    the file system when the policy is Delete), the SageMaker NFS security groups, and the rules
    EMR added to its groups. A retained EFS is reported with the command that deletes it.

    It first lists what will be lost, from the live APIs, and asks for the environment's name to
    be typed back; `--yes` approves for CI. An interrupted destroy is finished by the next one.

    Example: python main.py destroy --env local --terminate-clusters
    """
    from orchestration.deploy import destroy as run_destroy
    from orchestration.review.preview import destroy_preview

    preview = _call(lambda: destroy_preview(env))
    typer.echo(preview.render())
    running = [c for c in preview.clusters if c.cluster_id]
    if running and not terminate_clusters:
        typer.secho(f"error: destroy {env}: {len(running)} EMR cluster(s) launched for this environment still "
                    f"exist; nothing was deleted. Terminate them, or run: python main.py destroy --env {env} "
                    "--terminate-clusters", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    _approve(env, f"Destroy environment {env}? This cannot be undone.", type_name=True, yes=yes)
    with _progress_display() as (log, on_progress):
        report = _call(lambda: run_destroy(env, log=log, terminate_clusters=terminate_clusters, on_progress=on_progress))
    removed = sum(o.summary.remove for o in report.outcomes)
    outside = len(report.teardown.deleted) + len(report.teardown.terminated_clusters) if report.teardown else 0
    typer.secho(f"{env}: destroyed {removed} resources in {len(report.outcomes)} stacks and {outside} outside Terraform "
                f"({report.seconds:.0f} s)", fg=typer.colors.GREEN)
    for retained in report.teardown.retained if report.teardown else []:
        typer.secho(retained.describe(), fg=typer.colors.YELLOW)


@app.command()
def plan(
    env: EnvOption,
    review: Annotated[Path | None, typer.Option("--review", help="Write the markdown review to this file.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the review as JSON to this file.")] = None,
    emulator: Annotated[
        bool, typer.Option("--emulator", help="Plan against the embedded emulator (no AWS credentials needed, as in CI).")
    ] = False,
) -> None:
    """Plan every stack with its own account's credentials and print a review built from
    `terraform show -json`: risky changes first, one section per stack, policy checks
    (IAM lint, cfn-lint, checkov), and a closing tally.

    Exit codes for CI: 0 no changes, 2 changes, 3 risky changes, 1 a stack failed to plan or a
    policy check failed.

    Example: python main.py plan --env dev --emulator --review review.md
    """
    from orchestration.review.plan import plan as run_plan

    result = _call(lambda: run_plan(env, emulator=emulator, log=lambda line: typer.echo(line, err=True)))
    markdown = result.to_markdown()
    typer.echo(markdown)
    if review:
        review.write_text(markdown)
    if json_out:
        json_out.write_text(result.to_json())
    raise typer.Exit(result.exit_code)


@app.command()
def promote(
    source: Annotated[str, typer.Argument(help="Environment to promote from, e.g. dev.", show_default=False)],
    target: Annotated[str, typer.Argument(help="The environment after it in the chain, e.g. staging.", show_default=False)],
    write: Annotated[bool, typer.Option("--write", help="Write envs/TARGET.yaml (default: show only).")] = False,
    allow_risky: Annotated[bool, typer.Option("--allow-risky", help="Promote even if TARGET's plan has risky changes.")] = False,
    emulator: Annotated[bool, typer.Option("--emulator", help="Plan TARGET against the embedded emulator.")] = False,
) -> None:
    """Copy the `promoted:` settings of SOURCE into TARGET, show the YAML diff, validate TARGET
    and print the review of its plan. Only `--write` changes the file. Promoting backwards in
    the chain declared by `environment.promotes_to` is refused, and so is a promotion whose plan
    has risky changes, unless `--allow-risky`.

    Example: python main.py promote dev staging --emulator --write
    """
    from orchestration.review.promote import promote as run_promote

    result = _call(lambda: run_promote(source, target, write=write, allow_risky=allow_risky, emulator=emulator,
                                       log=lambda line: typer.echo(line, err=True)))
    if not result.diff:
        typer.echo(f"envs/{target}.yaml already has the promoted settings of {source}: nothing to promote")
        return
    typer.echo(result.diff)
    typer.echo(result.review.to_markdown())
    if result.refused:
        typer.secho(f"error: {result.refused}", err=True, fg=typer.colors.RED)
        raise typer.Exit(3)
    if result.written:
        typer.secho(f"wrote envs/{target}.yaml", fg=typer.colors.GREEN)
    else:
        typer.echo(f"dry run: pass --write to update envs/{target}.yaml")


emulator_app = typer.Typer(help="The embedded AWS emulator (moto on 127.0.0.1) that target `emulator` uses.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")


@emulator_app.command("status")
def emulator_status() -> None:
    """Say whether the emulator runs, and where."""
    from orchestration.local import emulator as control

    running = control.current()
    typer.echo(f"running on {running.url} (pid {running.pid})" if running else "not running")


@emulator_app.command("eks-cluster")
def emulator_eks_cluster(env: EnvOption) -> None:
    """Create on the emulator the EKS cluster `environment.kubernetes.cluster_name` names, as the
    platform team that owns it would have (idempotent); print its OIDC issuer.

    Example: python main.py emulator eks-cluster --env local
    """
    from orchestration.aws.kubernetes import create_emulator_cluster

    issuer = _call(lambda: create_emulator_cluster(env, log=typer.echo))
    typer.echo(f"EKS cluster ready, OIDC issuer {issuer}")


@emulator_app.command("stop")
def emulator_stop() -> None:
    """Stop the emulator; every emulator environment's resources go with it."""
    from orchestration.local import emulator as control

    typer.echo("stopped" if control.stop() else "was not running")


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


if __name__ == "__main__":
    sys.exit(app())
