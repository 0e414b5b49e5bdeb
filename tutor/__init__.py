"""Brain Tutor: a chat tutor that teaches how a neural network learns by building one.

`from tutor import Tutor` is cheap: TensorFlow is imported only when a lesson step needs it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter quiet

from tutor.api import Tutor
from tutor.reply import Option, Plot, Progress, Reply
from tutor.session import Session

__all__ = ["Option", "Plot", "Progress", "Reply", "Session", "Tutor"]
__version__ = "0.1.0"
