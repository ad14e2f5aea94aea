"""The language-model testbed: forgetting a book by negating its task vector (``unlearning``), on the
books of ``corpus``, the models of ``checkpoints`` and the measurements of ``measure``."""
