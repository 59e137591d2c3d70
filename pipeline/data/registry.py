"""Every dataset adapter by name, imported on first use.

An adapter module defines NAME, FOLDER (its folder under the data root; "" when the path
comes from options), NEEDS (the files it reads), DESCRIPTION, TEXT_REQUIRED (False only
where a dataset ships no text by design) and
read(data_root, options, report) -> list of canonical rows (see schema.article), each with
'_loc' ('file:row') and optionally '_group' (rows sharing a group stay in one split), and
PROVIDES (the inputs beyond text it has: "images", "propagation"), or provides(options)
where that depends on the options.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pipeline.errors import ParamsError

ADAPTER_MODULES = {
    "mediaeval2016": "pipeline.data.mediaeval2016",
    "politifact": "pipeline.data.politifact",
    "llmfake": "pipeline.data.llmfake",
    "pheme": "pipeline.data.pheme",
    "weibo": "pipeline.data.weibo",
    "liar": "pipeline.data.liar",
    "twitter15_16": "pipeline.data.twitter15_16",
    "generic": "pipeline.data.generic",
}


def get(name: str) -> ModuleType:
    try:
        return importlib.import_module(ADAPTER_MODULES[name])
    except KeyError:
        raise ParamsError(f"unknown dataset adapter {name!r}; known: {', '.join(sorted(ADAPTER_MODULES))}") from None


def adapter_name(dataset: str, options: dict | None) -> str:
    """The adapter a dataset uses: options["adapter"], else the adapter named like the dataset."""
    return (options or {}).get("adapter", dataset)


def provides(dataset: str, options: dict | None) -> frozenset[str]:
    """What a dataset has beyond text ("images", "propagation"), by its adapter and options."""
    adapter = get(adapter_name(dataset, options))
    return adapter.provides(options or {}) if hasattr(adapter, "provides") else adapter.PROVIDES
