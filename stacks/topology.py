"""The environment's stacks as one typed, immutable model (issue 10 §1): which stacks exist, in
which account, of which kind, and what each depends on.

``stacks/app.py`` builds the stacks this model lists; synthesis checks that the dependencies the
app's cross-stack references produce are exactly the ones declared here (orchestration/terraform/synth.py),
so a new stack kind or a new reference is a change here first. The orchestrator reads the model
for the apply order (``waves``, from ``graphlib``) and for the handshake's steps, which follow the
kinds of the stacks in a wave, never their names.
"""

from __future__ import annotations

import enum
import graphlib
from dataclasses import dataclass
from functools import cached_property

from config import EmrAccount, EnvironmentFile, StudioEmrError

from . import naming


class StackKind(enum.Enum):
    STUDIO = "studio"  # the Studio account's VPC, roles, domain and profiles
    EMR = "emr"  # an EMR account's VPC, security groups, roles and Service Catalog
    KUBERNETES = "kubernetes"  # IAM-6: the IRSA roles beside their account's stack
    PEERING_REQUEST = "studio-peering"  # the Studio account's peering requests, one per peered EMR account
    EMR_LINK = "emr-link"  # an EMR account's accept, DNS option, routes, SG rules and the role Studio assumes
    STUDIO_LINK = "studio-link"  # the Studio account's DNS options and routes, once every peering is active


@dataclass(frozen=True)
class StackSpec:
    id: str
    kind: StackKind
    account_id: str
    region: str
    depends_on: tuple[str, ...]
    emr_account: EmrAccount | None = None  # EMR and EMR_LINK stacks: the account they serve


class TopologyError(StudioEmrError):
    """The stacks' dependencies form a cycle, or a stack that does not exist was asked for."""


@dataclass(frozen=True)
class Topology:
    env_name: str
    stacks: tuple[StackSpec, ...]

    @classmethod
    def of(cls, env: EnvironmentFile) -> "Topology":
        settings = env.environment
        studio = settings.studio_account
        specs = [StackSpec(naming.STUDIO_STACK, StackKind.STUDIO, studio.account_id, studio.region, ())]
        # An EMR account that is the Studio account itself is not peered: its stack uses the Studio VPC.
        specs += [StackSpec(a.stack_id, StackKind.EMR, a.account_id, a.region,
                            (naming.STUDIO_STACK,) if a.account_id == studio.account_id else (), a)
                  for a in settings.emr_accounts]
        kubernetes = naming.kubernetes_stack(env)
        if kubernetes is not None:
            account = env.kubernetes_account
            specs.append(StackSpec(kubernetes, StackKind.KUBERNETES, account.account_id, account.region, ()))
        peered = env.peered_emr_accounts
        if peered:
            specs.append(StackSpec(naming.STUDIO_PEERING_STACK, StackKind.PEERING_REQUEST, studio.account_id, studio.region,
                                   (naming.STUDIO_STACK, *(a.stack_id for a in peered))))
            links = [StackSpec(naming.emr_link_stack(a), StackKind.EMR_LINK, a.account_id, a.region,
                               (naming.STUDIO_STACK, naming.STUDIO_PEERING_STACK, a.stack_id), a) for a in peered]
            specs += links
            specs.append(StackSpec(naming.STUDIO_LINK_STACK, StackKind.STUDIO_LINK, studio.account_id, studio.region,
                                   (naming.STUDIO_STACK, naming.STUDIO_PEERING_STACK, *(link.id for link in links))))
        return cls(settings.name, tuple(specs))

    @cached_property
    def by_id(self) -> dict[str, StackSpec]:
        return {spec.id: spec for spec in self.stacks}

    @property
    def ids(self) -> list[str]:
        """Every stack, in an order that respects their dependencies (the order they are listed in)."""
        return [spec.id for spec in self.stacks]

    def stack(self, stack_id: str) -> StackSpec:
        if stack_id not in self.by_id:
            raise TopologyError(f"unknown stack {stack_id}; environment {self.env_name} has {', '.join(self.ids)}")
        return self.by_id[stack_id]

    def of_kind(self, *kinds: StackKind) -> list[StackSpec]:
        return [spec for spec in self.stacks if spec.kind in kinds]

    def dependencies(self) -> dict[str, list[str]]:
        return {spec.id: list(spec.depends_on) for spec in self.stacks}

    def kinds_in(self, stack_ids: list[str]) -> set[StackKind]:
        return {self.stack(s).kind for s in stack_ids}


def waves(dependencies: dict[str, list[str]], selected: list[str] | None = None) -> list[list[str]]:
    """Stacks grouped so that each group depends only on earlier groups (graphlib's ready sets);
    ``selected``: only these, in the same groups."""
    sorter = graphlib.TopologicalSorter({stack: set(deps) for stack, deps in dependencies.items()})
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise TopologyError(f"stack dependencies form a cycle: {sorted(exc.args[1])}") from None
    result = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        result.append(ready)
        sorter.done(*ready)
    if selected is not None:
        unknown = sorted(set(selected) - set(dependencies))
        if unknown:
            raise TopologyError(f"unknown stack(s) {', '.join(unknown)}; this environment has {', '.join(dependencies)}")
        result = [[s for s in wave if s in selected] for wave in result]
        result = [wave for wave in result if wave]
    return result
