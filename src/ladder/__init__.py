"""ladder: measure which technique an LLM task needs, and what it costs."""

__version__ = "0.1.0"
