"""What the core tells architecture plugins about the data."""
import dataclasses
from typing import Optional, Tuple


@dataclasses.dataclass(frozen=True)
class DataSpec:
  """Shape of one sample (no batch axis) and the number of classes, if labelled.

  Dataset plugins expose one as their `spec` attribute; the core hands it to the
  architecture plugins so a network is sized by the data, not by hand.
  """
  shape: Tuple[int, ...]
  num_classes: Optional[int] = None
