"""latentanon: privacy-preserving video understanding in the latent space of frozen video encoders."""

from latentanon.anonymizers import create_anonymizer, list_anonymizers, register_anonymizer
from latentanon.contracts import EncoderSpec, RandomWeightsWarning
from latentanon.registry import create_encoder, list_encoders, register_encoder
from latentanon.wrapper import AnonymizedEncoder

__version__ = "0.1.0"

__all__ = [
    "AnonymizedEncoder",
    "EncoderSpec",
    "RandomWeightsWarning",
    "create_anonymizer",
    "create_encoder",
    "list_anonymizers",
    "list_encoders",
    "register_anonymizer",
    "register_encoder",
    "__version__",
]
