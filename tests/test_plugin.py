"""The tutor as a plugin: a block inside someone else's page, a FastAPI mount, a Space, a wheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import gradio as gr
import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.local import chat_text, free_port, local_client
from tutor import Tutor
from tutor.web.page import TutorBlock

ROOT = Path(__file__).resolve().parent.parent




@pytest.mark.app
def test_block_inside_another_page_answers_a_turn():
    with gr.Blocks(title="A course page") as demo:
        gr.Markdown("# Week 3: neural networks")
        block = TutorBlock(Tutor(train_slice=1000))
        block.load_event(demo)
        gr.Markdown("Course footer")
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = local_client(f"http://127.0.0.1:{port}/")
        messages = client.predict("hi", api_name="/respond")[0]
        assert "Why build a brain?" in chat_text(messages)
        messages = client.predict("next", api_name="/respond")[0]
        assert "Meet the data" in chat_text(messages)
    finally:
        demo.close()


@pytest.mark.app
def test_fastapi_mount_under_a_sub_path():
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    with gr.Blocks() as demo:
        TutorBlock(Tutor(train_slice=1000)).load_event(demo)
    demo.queue()
    app = gr.mount_gradio_app(app, demo, path="/tutor")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        client = local_client(f"http://127.0.0.1:{port}/tutor/")
        messages = client.predict("hi", api_name="/respond")[0]
        assert "Why build a brain?" in chat_text(messages)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md starts with the Space's front matter"
    return yaml.safe_load(match.group(1))


def _requirements(text: str) -> dict[str, Requirement]:
    """A requirements file's lines by package name (comments and -r lines left out)."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    found = [Requirement(line) for line in lines if line and not line.startswith("-")]
    return {requirement.name.lower(): requirement for requirement in found}


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_space_files_agree_with_each_other():
    front = _front_matter()
    for key in ("title", "emoji", "sdk", "sdk_version", "app_file", "python_version",
                "short_description", "license"):
        assert key in front, key
    assert front["sdk"] == "gradio"
    assert (ROOT / front["app_file"]).is_file()
    sdk_version = str(front["sdk_version"])
    # The Space runs the Gradio of sdk_version; requirements.txt pins the same one, so the tests
    # (which install requirements.txt) run on exactly the Gradio the Space runs.
    gradio = _requirements((ROOT / "requirements.txt").read_text())["gradio"]
    assert str(gradio.specifier) == f"=={sdk_version}", "requirements.txt pins gradio==sdk_version"
    assert gr.__version__ == sdk_version, "installed Gradio differs from the Space's sdk_version"
    # the <gradio-app> embed snippet loads the same version's web component
    embeds = re.findall(r"gradio\.s3[^\s\"']*/([\d.]+)/gradio\.js", (ROOT / "README.md").read_text())
    assert embeds and set(embeds) == {sdk_version}
    requires_python = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert f"{front['python_version']}.0" in requires_python, "the Space's Python is one we support"
    packages = (ROOT / "packages.txt").read_text().split()
    assert "dataset-fashion-mnist" in packages
    ci = (ROOT / ".ci" / "run").read_text()
    assert "packages.txt" in ci, ".ci/run installs the Space's Debian packages"
    assert len(str(front["short_description"])) <= 60


def test_pyproject_installs_what_the_space_installs():
    """`pip install ".[voice,postgres]"` and requirements.txt name the same packages and ranges."""
    project = _pyproject()["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared += extra
    wheel = {Requirement(line).name.lower(): Requirement(line) for line in declared}
    space = _requirements((ROOT / "requirements.txt").read_text())
    assert sorted(wheel) == sorted(space)
    for name, requirement in wheel.items():
        assert requirement.extras == space[name].extras, name
        if name == "gradio":  # a range for the library, the Space's exact version for the app
            assert str(_front_matter()["sdk_version"]) in requirement.specifier
        else:
            assert requirement.specifier == space[name].specifier, name
    assert project["scripts"]["brain-tutor"] == "tutor.__main__:main"


def _wait_for_page(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"brain-tutor --serve exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s")


@pytest.mark.slow
@pytest.mark.app
def test_the_wheel_ships_the_lesson_and_its_command_serves_the_tutor(tmp_path):
    """Build the wheel offline, install it outside the checkout, and serve it with `brain-tutor`."""
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("tutor", "lessons"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "--check-build-dependencies",
         "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("brain_tutor-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(name).decode() for name in names
                            if name.endswith(".dist-info/entry_points.txt"))
    lesson_files = sorted(path.name for path in (ROOT / "lessons").iterdir() if path.is_file())
    assert "pack.yaml" in lesson_files and "glossary.yaml" in lesson_files
    for name in lesson_files:
        assert f"tutor/lessons_pack/{name}" in names, name
    for module in sorted((ROOT / "tutor").rglob("*.py")):
        assert module.relative_to(ROOT).as_posix() in names, module
    assert re.search(r"^brain-tutor\s*=\s*tutor\.__main__:main$", entry_points, re.M)
    assert not any(name.startswith(("tests/", "benchmarks/", "app.py")) for name in names)

    site = tmp_path / "site"
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    command = site / "bin" / "brain-tutor"
    assert command.is_file()
    workdir = tmp_path / "elsewhere"  # outside the checkout: only the installed copy can be imported
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "BRAIN_TUTOR_STATE_DIR": "off"}
    probe = "import tutor, tutor.engine.lessons as l; print(tutor.__file__); print(l.DEFAULT_PACK)"
    where = subprocess.run(
        [sys.executable, "-c", probe], cwd=workdir, env=env, capture_output=True, text=True, timeout=120,
    )
    assert where.returncode == 0, where.stderr
    module_file, pack = where.stdout.split()
    assert Path(module_file).is_relative_to(site) and Path(pack) == site / "tutor" / "lessons_pack"
    helped = subprocess.run([str(command), "--help"], cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--serve" in helped.stdout, helped.stderr

    port = free_port()
    with open(tmp_path / "serve.log", "w") as log:
        server = subprocess.Popen([str(command), "--serve", "--port", str(port)], cwd=workdir, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_page(f"http://127.0.0.1:{port}/", server, timeout=180)
        client = local_client(f"http://127.0.0.1:{port}/")
        messages = client.predict("hi", api_name="/respond")[0]
        assert "Why build a brain?" in chat_text(messages)
    except AssertionError as error:
        log_tail = (tmp_path / "serve.log").read_text()[-3000:]
        raise AssertionError(f"{error}\n--- server log ---\n{log_tail}") from error
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
