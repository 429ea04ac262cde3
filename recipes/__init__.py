"""Evaluation protocols and pipelines built on the library (imported as latentanon.recipes; nothing imports them)."""
