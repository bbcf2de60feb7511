"""`ladder serve`: the local model behind an OpenAI-compatible API (chat + managed fine-tuning)."""

from ladder.serve.app import ServeConfig, create_app, serve
from ladder.serve.launch import running_server

__all__ = ["ServeConfig", "create_app", "serve", "running_server"]
