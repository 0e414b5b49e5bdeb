"""Brain Tutor: `python app.py` serves the tutor on http://127.0.0.1:7860.

Importable: `from app import demo` gives the Blocks (for `gr.mount_gradio_app` or a Space).
Progress is saved in `BRAIN_TUTOR_STATE_DIR` (SQLite, default ./tutor-data) or in PostgreSQL
when `BRAIN_TUTOR_DATABASE_URL` is set. The page is served first; TensorFlow, the data set and
the rest of the tutor's warm-up load in the background once it is (tutor/web/serving.py).
"""

from tutor import Tutor
from tutor.storage.environment import open_store
from tutor.web.page import build_app, launch

demo = build_app(Tutor(store=open_store()))

if __name__ == "__main__":
    launch(demo)
