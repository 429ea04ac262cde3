"""Frozen video encoder families, registered with ``latentanon.registry`` (imported as latentanon.encoders)."""
