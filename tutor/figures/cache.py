"""Figures drawn once and shared by every learner who asks for the same one.

Many learners see the same figures (the first training images, the flashcards, the model
diagram); `shared_between_learners` keeps a bounded number of them, keyed by their arguments.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping

import numpy as np

from tutor.reply import Plot

__all__ = ["SHARED_PLOT_LIMIT", "shared_between_learners"]

# Figures kept. Drawn in this process, one holds 1.2 MB (a flashcard) to 6.5 MB (the 25-image
# grid) with its canvas; drawn by the helper process (a server), only its PNG is added.
SHARED_PLOT_LIMIT = 32
_shared_plots: OrderedDict[tuple, tuple[Plot, list[np.ndarray]]] = OrderedDict()
_shared_lock = threading.Lock()


def _argument_key(value: object, keep: list[np.ndarray]) -> object:
    """A hashable stand-in for one argument; raises TypeError for what it cannot describe.

    Small arrays are keyed by their bytes. A large read-only array (the shared data set) is
    keyed by its identity, and `keep` holds it so that the identity cannot be reused while
    the figure is cached; hashing 47 MB of training images per call would cost more than
    some figures.
    """
    if isinstance(value, np.ndarray):
        if value.nbytes > 1_000_000 and not value.flags.writeable:
            keep.append(value)
            return ("array", id(value), value.shape, value.dtype.str)
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16)
        return ("array", value.shape, value.dtype.str, digest.digest())
    if value is None or isinstance(value, (str, bool, int, float, np.generic)):
        return (type(value).__name__, value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, (list, tuple)):
        return ("sequence", tuple(_argument_key(item, keep) for item in value))
    if isinstance(value, Mapping):
        return ("mapping", tuple((str(key), _argument_key(item, keep)) for key, item in value.items()))
    raise TypeError(f"cannot key a {type(value).__name__}")


def shared_between_learners(function: Callable[..., Plot]) -> Callable[..., Plot]:
    """Draw a figure once for everyone who asks for it with the same data.

    Many learners see the same figures (the first 25 training images, the flashcards, the
    model diagram): drawing each again for every learner kept one core busy under a class of
    twenty. The cached Plot is shared read-only, and its PNG is drawn once (`Plot.png`).
    Only figures of the shared data and of model shapes use this; a learner's own curves and
    predictions are drawn for them alone.
    """

    @functools.wraps(function)
    def cached(*args: object, **kwargs: object) -> Plot:
        keep: list[np.ndarray] = []
        try:
            key = (function.__name__, _argument_key(args, keep), _argument_key(kwargs, keep))
        except TypeError:
            return function(*args, **kwargs)
        with _shared_lock:
            if key in _shared_plots:
                _shared_plots.move_to_end(key)
                return _shared_plots[key][0]
        plot = function(*args, **kwargs)  # two first askers may both draw; either result is right
        with _shared_lock:
            _shared_plots[key] = (plot, keep)
            while len(_shared_plots) > SHARED_PLOT_LIMIT:
                _shared_plots.popitem(last=False)
        return plot

    return cached
