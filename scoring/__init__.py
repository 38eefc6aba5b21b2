"""county-scoring: score evidence bundles against elderly-care assessment rubrics."""

__version__ = "0.1.0"
