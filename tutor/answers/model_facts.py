"""How big a model the learner describes is: "how many parameters does the hidden layer model
have?", "how many weights would a cnn need?".

The count is worked out from the description (the lesson's layer sizes, or the units the
question names), not read from the learner's own model, which may be another one; questions about
"my model" are left to the live facts (`tutor.answers.facts`). The first sentence holds the figure.
"""

from __future__ import annotations

import re
from itertools import pairwise

from tutor.reply import Reply

ASKS_SIZE = re.compile(r"\bhow many (?:parameters|params|weights|trainable numbers|numbers)\b|"
                       r"\b(?:parameter|param) count\b|\bnumber of (?:parameters|params|weights)\b",
                       re.IGNORECASE)
MINE = re.compile(r"\b(?:my|our|mine)\b", re.IGNORECASE)
IF = re.compile(r"\b(?:if|would|with)\b", re.IGNORECASE)
CNN = re.compile(r"\b(?:cnn|convnet|convolutional|conv(?:olution)?s?)\b", re.IGNORECASE)
HIDDEN = re.compile(r"\bhidden[- ]layers?\b|\bdeeper\b|\bmlp\b|\btwo[- ]layer\b", re.IGNORECASE)
ONE_LAYER = re.compile(r"\b(?:one|1|single)[- ]layer\b|\bten[- ]neuron\b|\bnotebook'?s\b|\boriginal\b",
                       re.IGNORECASE)
WHOLE = re.compile(r"\bwith an? \b|\b(?:model|network|net|version|in total|total|altogether|overall|"
                   r"all together)\b",
                   re.IGNORECASE)
UNITS = re.compile(r"\b(\d{1,4})[- ]?(?:relu |sigmoid |tanh )?(?:hidden )?(?:neurons?|units?|nodes?)\b|"
                   r"\blayer (?:of|with) (\d{1,4})\b", re.IGNORECASE)
LESSON_UNITS = 128  # the hidden-layer step's Dense(128)
# the lesson's CNN: Conv2D(32, 3x3) and Conv2D(64, 3x3), each with a 2x2 pooling, on 28 x 28 x 1
CONV_PARTS = (3 * 3 * 1 * 32 + 32, 3 * 3 * 32 * 64 + 64)
CONV_OUT = 5 * 5 * 64


def described_size(text: str) -> Reply | None:
    """The parameter count of a model (or hidden layer) the question describes, else None."""
    if not ASKS_SIZE.search(text) or (MINE.search(text) and not IF.search(text)):
        return None
    match = UNITS.search(text)
    units = int(next(group for group in match.groups() if group)) if match else LESSON_UNITS
    if CNN.search(text):
        dense = CONV_OUT * 10 + 10
        total = sum(CONV_PARTS) + dense
        return Reply(text=(
            f"The lesson's small CNN has **{total:,}** parameters: {CONV_PARTS[0]:,} in the first "
            f"Conv2D(32, 3x3), {CONV_PARTS[1]:,} in the second Conv2D(64, 3x3) and {dense:,} in the "
            f"Dense(10) that reads the 5 x 5 x 64 = {CONV_OUT:,} numbers left after pooling. Filters "
            "are shared across the image, so it needs far fewer weights than a hidden Dense layer."),
            kind="answer")
    if HIDDEN.search(text) and not ONE_LAYER.search(text):
        layer = 784 * units + units
        output = units * 10 + 10
        if not WHOLE.search(text):  # "how many weights does the hidden layer have": that layer
            return Reply(text=(
                f"The hidden Dense({units}) layer has **{layer:,}** parameters: 784 x {units} "
                f"weights plus {units} biases. The output layer adds {units} x 10 + 10 = {output:,}, "
                f"so the whole model has {layer + output:,}."), kind="answer")
        return Reply(text=(
            f"The model with a hidden Dense({units}) layer has **{layer + output:,}** parameters: "
            f"784 x {units} + {units} = {layer:,} in the hidden layer and {units} x 10 + 10 = "
            f"{output:,} in the output layer, against 7,850 for the ten-neuron model."), kind="answer")
    if ONE_LAYER.search(text):
        sizes = [784, 10]
        total = sum(inputs * outputs + outputs for inputs, outputs in pairwise(sizes))
        return Reply(text=(f"The one-layer model has **{total:,}** parameters: 784 x 10 = 7,840 "
                           "weights plus 10 biases."), kind="answer")
    return None
