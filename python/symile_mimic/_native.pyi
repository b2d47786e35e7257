"""Type stubs of the native module (Rust, PyO3). The typed API is the package's."""

import os
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

__version__: str

class Error(ValueError):
    """Bad input or a failed run: the command line's one-line message, naming the file."""

def run(
    command: str,
    kwargs: Optional[Dict[str, Any]] = None,
    progress: Optional[Callable[[str, int, Optional[int]], Any]] = None,
) -> str:
    """Runs a command with keyword arguments as its flags; the outcome as JSON."""

def main(argv: List[bytes]) -> int:
    """The command line (program name first); prints like the binary, returns its exit status."""

def commands() -> str:
    """The commands and their flags, as JSON."""

def argv(command: str, kwargs: Optional[Dict[str, Any]] = None) -> List[str]:
    """The command-line words ``run(command, kwargs)`` parses."""

def layout(cxr_crop: Optional[int] = None, labs: Optional[int] = None) -> str:
    """The dataset layout, as JSON."""

def recorded_recipe(root: Union[str, "os.PathLike[str]"]) -> Optional[str]:
    """The recipe a dataset directory records, as JSON; ``None`` when it records none."""

def lab_count(root: Union[str, "os.PathLike[str]"]) -> int:
    """The lab columns of a dataset: its recorded recipe's, else the published recipe's."""

def evaluate(root: str, split: str, scores: bytes, dtype: str, bootstrap: int, seed: int) -> str:
    """Retrieval accuracy of little-endian ``dtype`` scores (one per row), as JSON."""

def scores_from_embeddings(root: str, split: str, r_c: bytes, r_e: bytes, r_l: bytes, d: int, kind: str) -> bytes:
    """Per-row scores (little-endian float64) from row-major float32 embeddings of width ``d``."""

def tensor_files(
    root: Union[str, "os.PathLike[str]"], split: str, format: Optional[str] = None
) -> List[Tuple[str, str]]:
    """``(tensor name, path)`` of each tensor of ``split`` under ``root``, in the writer's order."""

def tensor_header(path: Union[str, "os.PathLike[str]"]) -> Dict[str, Any]:
    """``{"name", "dtype", "shape", "rows", "row_bytes", "data_offset"}`` of a tensor file."""
