"""Brain Tutor: `python app.py` serves the tutor on http://127.0.0.1:7860.

Importable: `from app import demo` gives the Blocks (for `gr.mount_gradio_app` or a Space).
TensorFlow is imported in the background after the page is up.
"""

from tutor.ui import build_app, launch

demo = build_app()

if __name__ == "__main__":
    launch(demo)
