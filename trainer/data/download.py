"""``spoken-digits data download``: fetch the pinned FSDD archive, verify, unpack atomically."""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
from importlib import resources
from pathlib import Path

from realtime.bundle import sha256_file

from ..config import FSDD_VERSION
from ..errors import DataError

#: The pinned release (``../shared/data/fsdd/SOURCE.md``).
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/refs/tags/v{FSDD_VERSION}.tar.gz"
MANIFEST = f"fsdd-v{FSDD_VERSION}.sha256"


def load_manifest() -> dict[str, str]:
    """``{file name: sha256}`` of the 3,000 FSDD v1.0.10 recordings, shipped with the package."""
    text = resources.files("trainer").joinpath("manifests", MANIFEST).read_text()
    out = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[Path(name.strip()).name] = digest
    return out


def _fetch(url: str, dest: Path, progress: bool) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    try:
        resp = urllib.request.urlopen(url, timeout=60)  # noqa: S310 (the URL is the user's choice)
    except Exception as e:
        raise DataError(f"cannot download {url}: {e}") from e
    total = int(resp.headers.get("Content-Length") or 0) or None
    cols = (TextColumn("downloading FSDD"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with resp, open(dest, "wb") as f, Progress(*cols, disable=not progress) as bar:
        task = bar.add_task("download", total=total)
        while chunk := resp.read(1 << 16):
            f.write(chunk)
            bar.advance(task, len(chunk))


def verify_recordings(recordings_dir: Path, manifest: dict[str, str]) -> None:
    """Check every manifest file exists in ``recordings_dir`` with its SHA-256.

    Raises
    ------
    DataError
        Naming the first missing file or checksum mismatch (and how many there are).
    """
    missing = [n for n in manifest if not (recordings_dir / n).is_file()]
    if missing:
        raise DataError(f"{len(missing)} recording(s) missing from the archive, e.g. {missing[0]}")
    bad = [n for n, d in manifest.items() if sha256_file(recordings_dir / n) != d]
    if bad:
        raise DataError(f"{len(bad)} recording(s) do not match the FSDD v{FSDD_VERSION} manifest, e.g. {bad[0]}")


def download(dest: str | os.PathLike, *, url: str = FSDD_URL, force: bool = False, progress: bool = True) -> Path:
    """Download FSDD to ``dest`` (the ``recordings`` directory), verified against the manifest.

    The archive is fetched and unpacked in a temporary directory beside ``dest``; the
    recordings are verified (SHA-256 of each of the 3,000 files) and only then renamed to
    ``dest``, so an interrupted or corrupt download leaves nothing at ``dest``.

    Parameters
    ----------
    dest : path
        Target directory for the ``*.wav`` files, e.g. ``data/fsdd/recordings``.
    url : str
        Archive URL (``https://`` or ``file://``); default: the pinned v1.0.10 tarball.
    force : bool
        Replace an existing ``dest``.

    Raises
    ------
    DataError
        ``dest`` exists (without ``force``), download failure, unreadable archive, no
        ``recordings/`` folder in it, missing or mismatching files.
    """
    dest = Path(dest)
    if dest.exists() and not force:
        raise DataError(f"{dest} already exists; pass --force to replace it")
    manifest = load_manifest()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fsdd-download-") as tmp:
        tmp = Path(tmp)
        archive = tmp / "fsdd.tar.gz"
        _fetch(url, archive, progress)
        try:
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers() if m.isfile() and "/recordings/" in f"/{m.name}"
                           and m.name.endswith(".wav")]
                if not members:
                    raise DataError(f"{url}: no recordings/*.wav in the archive")
                for m in members:
                    m.name = Path(m.name).name
                    tar.extract(m, tmp / "recordings", filter="data")
        except (tarfile.TarError, OSError, EOFError) as e:
            raise DataError(f"{url}: unreadable archive ({e})") from e
        verify_recordings(tmp / "recordings", manifest)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp / "recordings", dest)
    return dest
