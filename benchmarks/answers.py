"""How well and how fast the offline agent answers free-form questions.

Runs the evaluation set (`tests/eval/questions.yaml`) through `Tutor.respond` for each retrieval
mode side by side (BM25 alone, embeddings alone, the hybrid default) and prints the pass rate
and the answer latency (p50, p95). Questions about the learner's own model are asked after a
real 5-epoch training on raw pixels (a slice, to keep the run short).

    python benchmarks/answers.py [--slice 10000] [--modes bm25,embeddings,hybrid]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent


def facts_for(session, dataset) -> dict[str, str]:
    """The learner's own figures, formatted as the evaluation set's placeholders expect."""
    from tutor.ml import backend
    from tutor.ml.data import CLASS_NAMES

    last = session.history[-1]
    values = [row["val_accuracy"] for row in session.history]
    logits = backend.predict_logits(session.model, dataset.valid_images)
    image = backend.predict_logits(session.model, dataset.train_images[8675:8676])[0]
    matrix = backend.confusion_counts(dataset.valid_labels, logits.argmax(axis=1))
    np.fill_diagonal(matrix, 0)
    true, guess = divmod(int(matrix.argmax()), 10)
    return {
        "val_accuracy_pct": f"{last['val_accuracy']:.1%}",
        "params": "7,850",
        "epochs": str(len(session.history)),
        "loss_1dp": f"{last['loss']:.1f}",
        "best_epoch": str(int(np.argmax(values)) + 1),
        "confused_a": CLASS_NAMES[true],
        "confused_b": CLASS_NAMES[guess],
        "pred_class_8675": CLASS_NAMES[int(np.argmax(image))],
    }


def passes(text: str, groups: list[list[str]], facts: dict[str, str]) -> bool:
    lowered = text.lower()
    return all(any(option.format(**facts).lower() in lowered for option in group) for group in groups)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=int, default=10000, help="training images for the live questions")
    parser.add_argument("--modes", default="bm25,embeddings,hybrid")
    parser.add_argument("--questions", default=str(ROOT / "tests" / "eval" / "questions.yaml"),
                        help="the evaluation file")
    parser.add_argument("--failures", action="store_true",
                        help="list every failing question with the start of its answer")
    parser.add_argument("--slowest", type=int, default=0, metavar="N",
                        help="list the N slowest questions")
    arguments = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tutor import Tutor
    from tutor.ml import data

    questions = yaml.safe_load(Path(arguments.questions).read_text())
    tutor = Tutor(train_slice=arguments.slice, max_messages_per_minute=None)
    dataset = data.load_dataset()
    trained = tutor.new_session()
    tutor.respond(trained, "go to training")
    facts = facts_for(trained, dataset)
    print(f"{len(questions)} questions; live facts from a 5-epoch run on {arguments.slice:,} images "
          f"(val accuracy {facts['val_accuracy_pct']})")
    rows = []
    for mode in arguments.modes.split(","):
        tutor.answerer.mode = mode
        tutor.answerer._knowledge = None  # rebuild the index for this mode
        _ = tutor.answerer.knowledge
        fresh = tutor.new_session()
        tutor.respond(fresh, "hi")
        passed, latencies, heldout = 0, [], [0, 0]
        for item in questions:
            session = copy.copy(trained) if item["after_training"] else fresh
            started = time.perf_counter()
            reply = tutor.respond(session, item["question"])
            latencies.append(time.perf_counter() - started)
            ok = passes(reply.text, item["must_contain"], facts)
            passed += ok
            if item.get("heldout"):
                heldout[0] += ok
                heldout[1] += 1
            if arguments.failures and not ok:
                answer = " ".join(reply.text.split())[:300]
                print(f"FAIL [{mode}] {item['question']!r}\n  expected {item['must_contain']}\n"
                      f"  answered {answer}")
        if arguments.slowest:
            slow = sorted(zip(latencies, [item["question"] for item in questions], strict=True), reverse=True)
            for seconds, question in slow[:arguments.slowest]:
                print(f"SLOW [{mode}] {seconds * 1000:5.0f}ms {question[:90]!r}")
        latencies.sort()
        rows.append((mode, passed, statistics.median(latencies), float(np.percentile(latencies, 95)),
                     heldout))
    print(f"\n{'mode':12s} {'passed':>12s} {'rate':>7s} {'p50':>8s} {'p95':>8s} {'held-out':>9s}")
    for mode, passed, p50, p95, (held_passed, held_total) in rows:
        print(f"{mode:12s} {passed:>5d} of {len(questions):<4d} {passed / len(questions):6.1%} "
              f"{p50 * 1000:6.0f}ms {p95 * 1000:6.0f}ms {held_passed:>4d} of {held_total}")
    print("\ngoals: pass rate >= 95%, non-training answers p95 <= 300 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
