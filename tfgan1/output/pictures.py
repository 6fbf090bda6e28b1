"""Pictures of samples as uint8 arrays, for TensorBoard images and PNG files.

Plain numpy, so no plotting library is needed: dataset plugins call these from
their `render` method.
"""
import math

import numpy as np

_BACKGROUND = 255
_REFERENCE = (200, 200, 200)
_SAMPLE = (31, 119, 180)


__all__ = ["image_grid", "is_image", "scatter_image"]

def _to_pixels(points, extent, size):
  lo, hi = extent
  scaled = (np.asarray(points, np.float64)[:, :2] - lo) / (hi - lo)
  cols = np.round(scaled[:, 0] * (size - 1)).astype(int)
  rows = np.round((1.0 - scaled[:, 1]) * (size - 1)).astype(int)  # y grows upwards
  keep = (cols >= 0) & (cols < size) & (rows >= 0) & (rows < size)
  return rows[keep], cols[keep]


def _draw(canvas, points, extent, color, radius):
  rows, cols = _to_pixels(points, extent, canvas.shape[0])
  for dr in range(-radius, radius + 1):
    for dc in range(-radius, radius + 1):
      r = np.clip(rows + dr, 0, canvas.shape[0] - 1)
      c = np.clip(cols + dc, 0, canvas.shape[1] - 1)
      canvas[r, c] = color


def scatter_image(samples, reference, extent, size=256):
  """A square scatter plot: `reference` points in grey under `samples` in blue.

  `extent` is (low, high), the same for both axes. Returns uint8 [size, size, 3].
  """
  canvas = np.full((size, size, 3), _BACKGROUND, np.uint8)
  _draw(canvas, reference, extent, _REFERENCE, radius=2)
  _draw(canvas, samples, extent, _SAMPLE, radius=1)
  return canvas


def is_image(shape):
  """Whether samples of `shape` are [H, W, C] pictures (not points)."""
  return len(shape) == 3 and shape[-1] in (1, 3, 4)


def image_grid(images, columns=None):
  """Tiles images [N, H, W, C] in [-1, 1] into one uint8 [rows*H, cols*W, 3] grid."""
  images = np.asarray(images, np.float32)
  n, h, w, c = images.shape
  columns = columns or int(math.ceil(math.sqrt(n)))
  rows = int(math.ceil(n / columns))
  pixels = np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
  if c == 1:
    pixels = np.repeat(pixels, 3, axis=-1)
  grid = np.zeros((rows * h, columns * w, 3), np.uint8)
  for i in range(n):
    r, col = divmod(i, columns)
    grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = pixels[i, :, :, :3]
  return grid
