"""The lesson engine: a learner's message becomes a lesson move, a tool call, a grade or a
question for `tutor.answers`. Knows nothing of Gradio or Keras."""
