"""The Gradio page. Knows nothing of Keras."""
