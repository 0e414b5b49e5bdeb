"""Terminal chat: `python -m tutor` walks through the lesson in a terminal.

Figures are saved as PNG files and their paths printed, so nothing needs a browser.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from tutor.api import Tutor
from tutor.figures.common import save_png
from tutor.reply import Reply


def print_reply(reply: Reply, figures_dir: Path, counter: list[int], out=sys.stdout) -> None:
    """Print a reply: text, code, saved figure paths and the numbered options."""
    if reply.text:
        print(reply.text, file=out)
    if reply.code:
        print("\n--- Keras code that ran ---\n" + reply.code + "\n---------------------------", file=out)
    for plot in reply.figures:
        counter[0] += 1
        path = save_png(plot, figures_dir / f"figure-{counter[0]:03d}.png")
        print(f"[figure saved: {path}] {plot.alt}", file=out)
    if reply.options:
        choices = "  ".join(f"[{number}] {option.label}" for number, option in
                            enumerate(reply.options, start=1))
        print("\n" + textwrap.fill(choices, width=100), file=out)


def chat(tutor: Tutor, figures_dir: Path, stream_in=sys.stdin, out=sys.stdout, speak=None) -> int:
    """Read messages line by line until end of input or 'quit'; a number picks an option.

    `speak`: called with each reply's text to read it aloud (`--voice`), or None.
    """
    session = tutor.new_session()
    counter = [0]
    last = tutor.start(session)
    print_reply(last, figures_dir, counter, out)
    if speak:
        speak(last.text)
    while True:
        print("\nyou> ", end="", file=out, flush=True)
        line = stream_in.readline()
        if not line:
            print("\nBye!", file=out)
            return 0
        message = line.strip()
        if message.lower() in ("quit", "exit", "bye"):
            print("Bye!", file=out)
            return 0
        if message.isdigit() and last.options and 1 <= int(message) <= len(last.options) \
                and session.pending_card is None:
            message = last.options[int(message) - 1].message
        print(file=out)
        for reply in tutor.stream(session, message):
            if reply.final:
                print_reply(reply, figures_dir, counter, out)
                last = reply
                if speak:
                    speak(reply.text)
            elif reply.progress is not None:
                print(f"  {reply.text}", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    """`brain-tutor` / `python -m tutor`: chat in the terminal, or serve the page with --serve."""
    parser = argparse.ArgumentParser(
        prog="brain-tutor",
        description="Brain Tutor: the lesson as a chat in the terminal (figures saved as PNG files), "
        "with --serve as a web page, with --export as a starter notebook.",
    )
    parser.add_argument("--serve", action="store_true", help="serve the web page instead")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port to serve on (default: 7860)")
    parser.add_argument("--lessons", help="a lesson pack folder (default: the built-in lesson)")
    parser.add_argument("--figures", default="tutor-output", help="where figures are saved")
    parser.add_argument("--voice", action="store_true",
                        help="read replies aloud (espeak-ng or piper, and aplay, paplay, play or ffplay)")
    parser.add_argument("--export", action="store_true",
                        help="write a starter notebook (in the chat, say 'export my notebook')")
    args = parser.parse_args(argv)
    tutor = Tutor(args.lessons) if args.lessons else Tutor()
    if args.export:
        session = tutor.new_session()
        print(f"(an empty session exported to {tutor.agent.export(session).files[0]})")
        return 0
    if args.serve:
        from tutor.storage.environment import open_store

        tutor.store = open_store()
        from tutor.web.page import build_app, launch

        launch(build_app(tutor), server_name=args.host, server_port=args.port)
        return 0
    return chat(tutor, Path(args.figures), speak=_reply_player() if args.voice else None)


def _reply_player():
    """`--voice`: a function that reads a reply aloud in the background, or None with the reason."""
    from tutor.speech.playback import ReplyPlayer

    player = ReplyPlayer()
    if player.problem:
        print(f"(--voice: {player.problem} The chat carries on in text.)")
        return None
    player.on_problem = lambda problem: print(f"\n(--voice: {problem} Carrying on in text.)")
    print("(--voice: replies are read aloud.)")
    return player.say


if __name__ == "__main__":
    sys.exit(main())
