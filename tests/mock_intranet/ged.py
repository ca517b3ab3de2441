"""The document store ("GED"): uploaded files kept on disk with their original bytes."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path

_DOCUMENT_ID = re.compile(r"^[0-9a-f]{32}$")


class DocumentStore:
    """Files named by a random id under one folder; their metadata lives in the database."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_id() -> str:
        """A fresh document id (32 hex digits)."""
        return uuid.uuid4().hex

    def write(self, document_id: str, content: bytes) -> str:
        """Store `content` under `document_id`, atomically; return its SHA-256."""
        target = self.path(document_id)
        partial = target.with_suffix(".partiel")
        partial.write_bytes(content)
        os.replace(partial, target)
        return hashlib.sha256(content).hexdigest()

    def path(self, document_id: str) -> Path:
        """Where the document's bytes are; raises ValueError for a malformed id."""
        if not _DOCUMENT_ID.match(document_id):
            raise ValueError(f"identifiant de document invalide : {document_id!r}")
        return self.root / f"{document_id}.bin"

    def delete(self, document_id: str) -> None:
        """Remove a document's bytes if present."""
        self.path(document_id).unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove every document."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
