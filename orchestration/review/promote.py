"""`promote SRC DST`: copy the promoted settings of one environment into the next one of its
declared chain (``environment.promotes_to``), show the YAML diff, validate and plan the result.
The file is written only when asked, and never backwards along the chain."""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path

from config import ENVS_DIR, StudioEmrError, env_path, load_env, yamlio
from config.loader import parse

from orchestration.review.plan import plan_env
from orchestration.review.report import Review
from orchestration.terraform.synth import Workspace


class PromotionRefused(StudioEmrError):
    exit_code = 2


@dataclass
class PromoteResult:
    source: str
    target: str
    diff: str
    review: Review | None
    written: bool
    refused: str | None = None


def chain_from(name: str, envs_dir: Path) -> list[str]:
    chain = [name]
    while True:
        following = load_env(chain[-1], envs_dir).environment.promotes_to
        if following is None or following in chain:
            return chain
        chain.append(following)


def promote(source: str, target: str, write: bool = False, allow_risky: bool = False, emulator: bool = False,
            envs_dir: Path = ENVS_DIR, workspace: Workspace = Workspace(), log=print) -> PromoteResult:
    if source == target:
        raise PromotionRefused(f"cannot promote {source!r} into itself")
    forward = chain_from(source, envs_dir)
    if target not in forward:
        backward = chain_from(target, envs_dir)
        if source in backward:
            raise PromotionRefused(
                f"refusing to promote backwards: {target!r} comes before {source!r} in the chain {' -> '.join(backward)}"
            )
        raise PromotionRefused(f"{target!r} does not follow {source!r} in its declared chain {' -> '.join(forward)} "
                               "(environment.promotes_to)")
    # Round trip, so that only the promoted lines show in the diff.
    source_doc = yamlio.load_round_trip(env_path(source, envs_dir).read_text())
    target_path = env_path(target, envs_dir)
    before = target_path.read_text()
    target_doc = yamlio.load_round_trip(before)
    target_doc["promoted"] = copy.deepcopy(source_doc["promoted"])
    after = yamlio.dump_round_trip(target_doc)
    shown = f"envs/{target}.yaml"
    diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{shown}", f"b/{shown}"))
    promoted_env = parse(yamlio.load(after), shown)
    if not diff:
        return PromoteResult(source, target, "", None, written=False)
    review = plan_env(promoted_env, emulator=emulator, workspace=workspace, log=log)
    refused = None
    if review.risks and not allow_risky:
        refused = (f"the plan of {target!r} with these settings has {len(review.risks)} risky change(s); "
                   "review them and pass --allow-risky to promote anyway")
    written = False
    if write and refused is None:
        target_path.write_text(after)
        written = True
    return PromoteResult(source, target, diff, review, written, refused)
