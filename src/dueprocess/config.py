"""Settings from the environment (``DUEPROCESS_*``), gathered into one immutable object.

Every part of the system receives a :class:`Settings` instead of reading the environment
itself, so a test can run several differently configured apps in one process.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str, *, name: str = "DUEPROCESS_TRUSTED_PROXIES") -> tuple[IPNetwork, ...]:
    """Addresses and networks separated by commas or spaces (``10.0.0.5, 192.168.0.0/24,
    ::1``); :class:`ValueError` naming ``name`` and the entry that is neither."""
    networks = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"{name}: {entry!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/8)"
            ) from None
    return tuple(networks)


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Paths are absolute once built by :meth:`from_env`."""

    database_url: str
    data_dir: Path
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    demo_database_url: str = ""
    secret_key: str = field(default="", repr=False)
    secure_cookies: bool = False
    checkpoint_seconds: float = 300.0
    #: Peers whose ``X-Forwarded-For`` names the client (reverse proxies); none by default.
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @property
    def documents_dir(self) -> Path:
        """Where uploaded documents are kept, one file per SHA-256, outside the database."""
        return self.data_dir / "documents"

    @property
    def keys_dir(self) -> Path:
        """Where signing keys live; deliberately not in the database (see docs/audit-format.md)."""
        return self.data_dir / "keys"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """Read ``DUEPROCESS_*`` variables; unset ones default to files in the working directory.

        ``DUEPROCESS_DATABASE_URL`` defaults to ``sqlite:///dueprocess.db`` in ``cwd``;
        ``DUEPROCESS_DATA_DIR`` to ``./dueprocess-data``.
        """
        env = os.environ if env is None else env
        base = (cwd or Path.cwd()).resolve()
        data_dir = Path(env.get("DUEPROCESS_DATA_DIR", "") or base / "dueprocess-data")
        if not data_dir.is_absolute():
            data_dir = base / data_dir
        database_url = (
            env.get("DUEPROCESS_DATABASE_URL", "") or f"sqlite:///{base / 'dueprocess.db'}"
        )
        demo_url = env.get("DUEPROCESS_DEMO_DATABASE_URL", "") or (
            f"sqlite:///{data_dir / 'demo-service.db'}"
        )
        max_body = int(env.get("DUEPROCESS_MAX_BODY_BYTES", "") or DEFAULT_MAX_BODY_BYTES)
        return cls(
            database_url=database_url,
            data_dir=data_dir,
            max_body_bytes=max_body,
            demo_database_url=demo_url,
            secret_key=env.get("DUEPROCESS_SECRET_KEY", ""),
            secure_cookies=env.get("DUEPROCESS_SECURE_COOKIES", "") in {"1", "true", "yes"},
            checkpoint_seconds=float(env.get("DUEPROCESS_CHECKPOINT_SECONDS", "") or 300),
            trusted_proxies=parse_networks(env.get("DUEPROCESS_TRUSTED_PROXIES", "")),
        )

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests and the CLI's options use this)."""
        return replace(self, **changes)  # type: ignore[arg-type]
