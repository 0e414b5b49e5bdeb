"""The class-scale figures of `benchmarks/load.py`: each learner's training turn against a lone one's.

The issue's question for a class: when thirty learners reach the training step within a minute,
how long does each wait for their curves, compared with a learner alone on the same server?
`load.py` runs the learners and keeps every turn; this module reads, for each learner of the
class, their training turn (the "Next" into the training step): when they asked (against when
they were scheduled to), their queue wait and highest place in the queue, the fit's own seconds
as the final reply states them, the seconds from asking until the final reply with the curves
arrived, that time over the lone learner's, and whether the page said the fit ran together
with others' (a line of the turn that says "together", which the lone learner's turn does not
have). Then the goals, each met or not:

- no learner's training turn, from asking to the curves, takes more than 3x the lone learner's;
- non-training turns while trainings ran (queued or running): p95 <= 1 s;
- memory: <= 30 MB for each extra learner (the server's whole process tree, workers included);
- no errors and no leaks.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.load import Learner, Turn

TRAINING_TURN_GOAL_RATIO = 3.0  # the slowest training turn of the class, over a lone learner's
LATE_SECONDS = 1.0  # asking to train this much after the scheduled moment counts as late

Schedule = dict[int, tuple[float, float | None]]  # learner -> (start walking, ask to train) after the start


def class_schedule(indices: Sequence[int], arrive_within: float, stagger: float, lead: float,
                   seed: int) -> Schedule:
    """When each learner of the class starts and, with a window, asks to train (seconds after
    the class's start).

    With `arrive_within` W > 0, learner i gets a moment a_i drawn uniformly from [0, W) (seeded,
    so a rerun has the same class): they start walking at a_i and ask to train at `lead` + a_i,
    holding at the step before training if they got there early. `lead` is longer than the walk
    to that step took the learner alone, so every learner of the class reaches the training step
    within W s, bunched as a uniform draw bunches them. With W = 0 the learners start
    `stagger` / N apart and ask to train whenever their walk gets them there.
    """
    if arrive_within <= 0:
        spacing = stagger / max(1, len(indices))
        return {index: (position * spacing, None) for position, index in enumerate(indices)}
    draw = random.Random(seed)
    moments = {index: draw.uniform(0.0, arrive_within) for index in indices}
    return {index: (moment, lead + moment) for index, moment in moments.items()}


def training_turn(learner: Learner) -> Turn | None:
    """The learner's first training turn: the "Next" into the training step."""
    return next((turn for turn in learner.turns if turn.training), None)


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def class_summary(learners: Sequence[Learner], alone: Sequence[Learner], warm_up: Sequence[Learner],
                  begin: float | None, arrive_within: float, lead: float | None) -> dict[str, Any]:
    """Per learner of the class, their training turn against the lone learner's; and the totals.

    `begin` is the class's start in seconds since the run began (the turns' clock).
    """
    lone = training_turn(alone[0]) if alone else None
    cold = training_turn(warm_up[0]) if warm_up else None
    baseline = lone.curves_after if lone is not None else None
    ordinary = {line for turn in (lone, cold) if turn is not None for line in turn.together_lines}
    start = begin or 0.0
    rows: list[dict[str, Any]] = []
    for learner in learners:
        turn = training_turn(learner)
        if turn is None:
            rows.append({"learner": learner.index, "trained": False})
            continue
        together = [line for line in turn.together_lines if line not in ordinary]
        scheduled = learner.scheduled_ask
        rows.append({
            "learner": learner.index,
            "trained": True,
            "asked_at": turn.started - start,
            "scheduled_at": None if scheduled is None else scheduled - start,
            "late": None if scheduled is None else max(0.0, turn.started - scheduled),
            "held": learner.held,
            "queue_wait": turn.queue_wait,
            "waited": turn.waited,
            "max_place": turn.max_place,
            "fit": turn.fit_seconds,
            "to_curves": turn.curves_after,
            "turn": turn.seconds,
            "ratio": _ratio(turn.curves_after, baseline),
            "together": bool(together),
            "together_line": together[0] if together else None,
        })
    trained = [row for row in rows if row["trained"]]
    to_curves = [row["to_curves"] for row in trained if row["to_curves"] is not None]
    asked = [row["asked_at"] for row in trained]
    lateness = [row["late"] for row in trained if row["late"] is not None]
    late = [value for value in lateness if value > LATE_SECONDS]
    examples = [row["together_line"] for row in trained if row["together_line"]]
    return {
        "arrive_within": arrive_within,
        "lead": lead,
        "lone_to_curves": baseline,
        "lone_fit": lone.fit_seconds if lone is not None else None,
        "lone_queue_wait": lone.queue_wait if lone is not None else None,
        "cold_to_curves": cold.curves_after if cold is not None else None,
        "trained": len(trained),
        "without_curves": len(rows) - len(to_curves),
        "to_curves_p50": statistics.median(to_curves) if to_curves else None,
        "to_curves_max": max(to_curves) if to_curves else None,
        "ratio_p50": _ratio(statistics.median(to_curves) if to_curves else None, baseline),
        "ratio_max": _ratio(max(to_curves) if to_curves else None, baseline),
        "arrival_spread": max(asked) - min(asked) if asked else None,
        "late": len(late),
        "latest": max(lateness, default=None),
        "ran_together": sum(row["together"] for row in trained),
        "together_example": examples[0] if examples else None,
        "queue_wait_max": max((row["queue_wait"] for row in trained if row["queue_wait"] is not None),
                              default=None),
        "saw_waiting": sum(row["waited"] for row in trained),
        "rows": sorted(rows, key=lambda row: row.get("asked_at", float("inf"))),
    }


def goals(report: dict[str, Any], non_training_goal: float, memory_goal: float) -> list[dict[str, Any]]:
    """The issue's goals for the class, each with its figure and whether it was met."""
    summary = report["class"]
    together = report["together"]
    during = together["non_training_during_training"]["p95"]
    per = report["memory"]["per_extra_learner"]
    ratio = summary["ratio_max"]
    problems = len(together["errors"]) + len(together["leaks"])
    ratio_met = (ratio is not None and ratio <= TRAINING_TURN_GOAL_RATIO
                 and summary["without_curves"] == 0 and summary["trained"] == report["learners"])
    return [
        {"goal": f"slowest training turn, asking to curves <= {TRAINING_TURN_GOAL_RATIO:g}x the lone "
                 "learner's", "value": ratio, "unit": "x", "met": ratio_met},
        {"goal": f"non-training turns while trainings ran, p95 <= {non_training_goal:g} s",
         "value": during, "unit": "s", "met": during is not None and during <= non_training_goal},
        {"goal": f"memory per extra learner <= {memory_goal:g} MB", "value": per, "unit": "MB",
         "met": per is not None and per <= memory_goal},
        {"goal": "no errors and no leaks", "value": problems, "unit": "", "met": problems == 0},
    ]


def _s(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} s"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def print_class(report: dict[str, Any]) -> None:
    """The per-learner table, the totals and the goals."""
    summary = report["class"]
    window = summary["arrive_within"]
    print(f"\nthe class's training turns ({report['learners']} learners, slice {report['slice']:,} images)")
    if window > 0:
        print(f"  arrivals                each started walking at a moment drawn from [0, {window:g}) s "
              f"(seed {report.get('seed', 0)}) and asked to train {_s(summary['lead'])} later")
    spread = summary["arrival_spread"]
    valid = spread is not None and (window <= 0 or spread <= window + LATE_SECONDS)
    within = (f" (window {window:g} s: {'within' if valid else 'NOT within'}); {summary['late']} asked "
              f"more than {LATE_SECONDS:g} s late (latest {_s(summary['latest'])})") if window > 0 else ""
    print(f"  asked to train          first to last {_s(spread)}{within}")
    print(f"  the lone learner        asking to curves {_s(summary['lone_to_curves'])}, fit "
          f"{_s(summary['lone_fit'])}, box to first epoch {_s(summary['lone_queue_wait'], 2)} (no "
          f"queue: the fit's setup)   (the warm-up learner's, the server's first training, which "
          f"starts its workers: {_s(summary['cold_to_curves'])})")
    print("  learner  asked at  held  queue wait place    fit  to curves  x lone  together")
    for row in summary["rows"]:
        if not row["trained"]:
            print(f"  {row['learner']:7d}  did not reach the training step")
            continue
        print(f"  {row['learner']:7d}  {row['asked_at']:7.1f}s {row['held']:5.1f}s "
              f"{'-' if row['queue_wait'] is None else format(row['queue_wait'], '9.1f') + 's':>10s} "
              f"{row['max_place'] or '-':>5} "
              f"{'-' if row['fit'] is None else format(row['fit'], '5.1f') + 's':>6s} "
              f"{'none' if row['to_curves'] is None else format(row['to_curves'], '8.1f') + 's':>10s} "
              f"{_x(row['ratio']):>7s}  {'yes' if row['together'] else 'no'}")
    print(f"  asking to curves        p50 {_s(summary['to_curves_p50'])} ({_x(summary['ratio_p50'])} "
          f"the lone learner's)   max {_s(summary['to_curves_max'])} ({_x(summary['ratio_max'])})   "
          f"{summary['without_curves']} without curves")
    print(f"  queue                   {summary['saw_waiting']} of {summary['trained']} saw \"Waiting for "
          f"a free training slot\", longest wait {_s(summary['queue_wait_max'])}")
    example = summary["together_example"]
    print(f"  fits run together       {summary['ran_together']} of {summary['trained']}"
          + (f", e.g. {example!r}" if example else " (no reply said so)"))
    print("goals:")
    for goal in report["goals"]:
        value = goal["value"]
        shown = "n/a" if value is None else (
            f"{value:.2f}{goal['unit']}" if goal["unit"] == "x" else
            f"{value:.2f} {goal['unit']}" if goal["unit"] else str(value))
        print(f"  {goal['goal']:66s} {shown:>10s}   {'met' if goal['met'] else 'NOT MET'}")
