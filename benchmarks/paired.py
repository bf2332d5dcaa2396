"""The throughput targets' own measurement: smimages on SQLite, the ceiling and moto's server run side by side and
are measured in turn, round after round, so that a shared machine slowing down or speeding up during the run weighs
on all three alike. Each round gives the two ratios; the targets are judged on the worst round (every round must
meet them), and the report shows the medians too."""

import contextlib
import statistics
from dataclasses import dataclass
from pathlib import Path

from . import servers
from .load import LoadResult, measure, send_once
from .profiles import Profile
from .throughput import ceiling_request, describe_request, moto_request, prepare_smimages

CONNECTIONS = 8


@dataclass(frozen=True)
class Round:
    """One round at CONNECTIONS connections: smimages' DescribeImageVersion, the ceiling's fixed body and moto's
    DescribeModel, measured one after the other."""

    smimages: LoadResult
    ceiling: LoadResult
    moto: LoadResult


def run(profile: Profile, work: Path) -> list[Round]:
    """profile.rounds rounds, each measuring the three servers for profile.seconds (after its warm-up run)."""
    url = f"sqlite:///{work / 'paired.db'}"
    prepare_smimages(url)
    with contextlib.ExitStack() as stack:
        smimages = stack.enter_context(servers.smimages(url, work, "paired-smimages"))
        ceiling = stack.enter_context(servers.ceiling(work, "paired-ceiling"))
        moto = stack.enter_context(servers.moto(work, "paired-moto"))
        calls = [
            (smimages, "DescribeImageVersion", describe_request(smimages.port)),
            (ceiling, "fixed body", ceiling_request(ceiling.port)),
            (moto, "DescribeModel", moto_request(moto.port)),
        ]
        for server, _, request in calls:
            send_once(server.port, request)
        return [
            Round(
                *(
                    measure(server, operation, request, CONNECTIONS, profile.seconds, profile.warmup)
                    for server, operation, request in calls
                )
            )
            for _ in range(profile.rounds)
        ]


def ratios(rounds: list[Round]) -> tuple[list[float], list[float]]:
    """Each round's (smimages ÷ ceiling) and (smimages ÷ moto) in req/s, in round order."""
    return [r.smimages.rps / r.ceiling.rps for r in rounds], [r.smimages.rps / r.moto.rps for r in rounds]


def median_ratios(rounds: list[Round]) -> tuple[float, float] | None:
    """(smimages ÷ ceiling, smimages ÷ moto) in req/s, each the median over the rounds; None without rounds."""
    if not rounds:
        return None
    ceiling, moto = ratios(rounds)
    return statistics.median(ceiling), statistics.median(moto)
