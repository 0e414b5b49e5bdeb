"""The ML side: Keras models, the data set, training workers. Knows nothing of chat or pages."""
