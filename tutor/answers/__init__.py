"""Free-form questions: the guard, retrieval over the lesson and glossary, live facts and the
optional LLM."""
