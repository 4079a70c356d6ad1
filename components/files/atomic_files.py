"""Files replaced whole: a reader, or a run killed at any point, sees the old text or the new.

Shared by the writers of generated files (the docs, render mode's manifests). The text goes to
a temporary file beside the target, which then replaces it; a killed run can leave that
temporary file behind, and the next run removes it (`leftovers`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".model-fleet-tmp."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates its file readable by the owner alone; the file it becomes is a doc or a
# manifest, which gets the mode a plain open() would give it (or keeps the one it had).
NEW_FILE_MODE = 0o666 & ~_umask()


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def leftovers(directory: Path) -> list[str]:
    """Names of the temporary files a killed run left in `directory`."""
    if not directory.is_dir():
        return []
    return sorted(name for name in os.listdir(directory) if name.startswith(TEMP_PREFIX))
