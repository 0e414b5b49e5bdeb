"""The values of a command, from a message's slots and the learner's own settings.

`tutor.engine.slots` reads what a message says ("bigger", "64", "rmsprop"); here those become
a command's arguments: "bigger batches" doubles the learner's batch size, "a smaller learning
rate" divides their rate by ten, and "add a hidden layer 64" is a layer of 64 units.
"""

from __future__ import annotations

from typing import Any

from tutor.engine.slots import Slots
from tutor.ml.backend import DEFAULT_RATES
from tutor.session import Session


def names_its_value(name: str, slots: Slots) -> bool:
    """Whether a short message gives the value a command needs ("lr 0.005", "bigger batches")."""
    return {
        "rate": slots.rate is not None or slots.direction is not None,
        "batch": bool(slots.numbers) or slots.direction is not None,
        "optimizer": slots.optimizer is not None,
        "add_hidden": slots.units is not None,
        "train": slots.epochs is not None,
        "show_image": slots.image is not None,
        "predict": slots.image is not None,
        "use_run": slots.run is not None,
        "slice": bool(slots.numbers),
    }.get(name, False)


def slot_value(session: Session, slot: str, slots: Slots, single: int | None) -> Any:
    """A command's value: from the message, else from the learner's settings ("smaller" halves
    their batch size), else None (the agent then asks for it)."""
    settings = session.settings
    if slot == "split":
        return "validation" if slots.split == "valid" else "training"
    if slot == "image":
        return slots.image if slots.image is not None else single
    if slot == "epochs":
        return slots.epochs or (single if single and single <= 50 else None)
    if slot == "units":  # "add a hidden layer 64": the one number is its size
        return slots.units or (single if single and single <= 4096 and slots.epochs is None
                               and slots.image is None else None)
    if slot == "activation":
        return slots.activation or "relu"
    if slot == "optimizer":
        return slots.optimizer
    if slot == "rate":
        if slots.rate is not None:
            return f"{slots.rate:g}"
        current = settings.learning_rate or DEFAULT_RATES.get(settings.optimizer, 0.001)
        if slots.direction:
            factor = slots.factor or 10.0
            return f"{current / factor if slots.direction == 'down' else min(current * factor, 1.0):g}"
        return None
    if slot == "batch":
        if single is not None:
            return single
        if slots.direction:
            factor = int(slots.factor or 2)
            return (max(1, settings.batch_size // factor) if slots.direction == "down"
                    else settings.batch_size * factor)
        return None
    if slot == "count":
        return single
    if slot == "run":
        if slots.run == -1:
            return len(session.runs) or None
        return slots.run or single
    if slot == "step":
        return slots.step
    return None
