"""Read the pickled id mappings some datasets ship (Weibo's EANN split ids, UPFD's node
mapping) without running code from them.

`pickle.load` calls any importable function a file names, so a crafted file under a data
root could run a command at `fnd ingest`. This reader admits plain data only: dicts,
lists, tuples, sets, strings, bytes, numbers, booleans, None, and NumPy scalars (EANN's
Python 2 pickles store ids as `numpy.int64`). Anything else is an IngestError naming the
file and the refused type.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from pipeline.data.schema import IngestError

ALLOWED = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("__builtin__", "set"),
    ("__builtin__", "frozenset"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refused {module}.{name}: only plain data types are read")
        return super().find_class(module, name)


def load_plain(path: Path) -> object:
    """The plain-data object pickled in `path`, or an IngestError naming the file and why."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found")
    try:
        with path.open("rb") as handle:
            return _PlainUnpickler(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as err:
        raise IngestError(f"{path}: not a plain-data pickle ({err})") from None
