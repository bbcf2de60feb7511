"""`ladder review`'s settings (kept apart from the app so that `ladder review --help` and a refused
start do not import the web stack)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the app on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ReviewConfig(BaseModel):
    """Settings of `ladder review`; each field is a command-line flag of the same name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address to bind. Anything but a loopback address needs "
                                               "--allow-remote and --token-env.")
    port: int = Field(0, ge=0, le=65535, description="Port to listen on (0: a free one, printed at start).")
    allow_remote: bool = Field(False, description="Allow binding a non-loopback address (then every request "
                                                  "must carry the token of --token-env).")
    token_env: str | None = Field(None, description="Environment variable holding the access token; "
                                                   "required with --allow-remote.")

    def check(self, token: str | None) -> None:
        """ValueError unless a remote bind is allowed and has a token."""
        if is_loopback(self.host):
            return
        if not self.allow_remote:
            raise ValueError(f"--host {self.host} is not a loopback address: pass --allow-remote (and --token-env)")
        if not self.token_env:
            raise ValueError("--allow-remote needs --token-env NAME: the variable holding the access token")
        if not token or len(token) < 16:
            raise ValueError(f"--token-env {self.token_env}: the variable is unset or shorter than 16 characters")
