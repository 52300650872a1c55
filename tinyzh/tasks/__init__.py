"""Task plugins: the CLUE classification tasks and the helpers they share.

``tinyzh.tasks.base.JsonLinesTask`` is the base class a third-party JSON-lines task extends;
``tinyzh.tasks.features`` turns examples into model inputs.
"""
