"""Pictures of an agent's behaviour (RL-12): frames drawn from observations, GIFs, frame strips.

`frame_from_obs(env_name, obs)` draws one RGB frame (uint8 [H, W, 3]) from an observation of a
classic-control or MinAtar environment: CartPole (cart and pole from x and θ), Acrobot (the two
links from cos/sin of the joint angles), MountainCar (the hill and the car), and MinAtar (one
colour per object channel). Atari frames come from the emulator's screen instead.
`save_gif` and `save_strip` write the episode as an animation and as a row of frames.
"""

from __future__ import annotations

import math
import pathlib
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

W, H = 360, 240
MINATAR_COLOURS = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                            [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230],
                            [210, 245, 60], [250, 190, 212]], np.uint8)


def _canvas():
  image = Image.new("RGB", (W, H), (255, 255, 255))
  return image, ImageDraw.Draw(image)


def cartpole_frame(obs) -> np.ndarray:
  """Cart at x ∈ [−2.4, 2.4], pole (length 1, the env's 2 x 0.5) at angle θ from vertical."""
  x, theta = float(obs[0]), float(obs[2])
  image, draw = _canvas()
  scale = W / 4.8
  cx, cy = W / 2 + x * scale, H * 0.7
  draw.line([(0, cy + 15), (W, cy + 15)], fill=(0, 0, 0))
  draw.rectangle([cx - 25, cy - 12, cx + 25, cy + 12], fill=(40, 40, 40))
  tip = (cx + math.sin(theta) * scale, cy - math.cos(theta) * scale)
  draw.line([(cx, cy), tip], fill=(200, 120, 60), width=8)
  draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=(120, 120, 200))
  return np.asarray(image)


def acrobot_frame(obs) -> np.ndarray:
  """Two unit links hanging from the centre; obs = (cos θ1, sin θ1, cos θ2, sin θ2, ...)."""
  t1 = math.atan2(float(obs[1]), float(obs[0]))
  t2 = math.atan2(float(obs[3]), float(obs[2]))
  image, draw = _canvas()
  s, ox, oy = H / 4.4, W / 2, H / 2
  p1 = (ox + s * math.sin(t1), oy + s * math.cos(t1))
  p2 = (p1[0] + s * math.sin(t1 + t2), p1[1] + s * math.cos(t1 + t2))
  draw.line([(0, oy - s), (W, oy - s)], fill=(0, 0, 0))  # the goal height
  draw.line([(ox, oy), p1], fill=(0, 80, 200), width=8)
  draw.line([p1, p2], fill=(0, 160, 200), width=8)
  return np.asarray(image)


def mountain_car_frame(obs) -> np.ndarray:
  """The hill y = sin(3x) over x ∈ [−1.2, 0.6], the car at obs[0], the flag at 0.5."""
  xs = np.linspace(-1.2, 0.6, 100)
  to_px = lambda x, y: ((x + 1.2) / 1.8 * W, H * 0.8 - (y + 1) * H * 0.3)
  image, draw = _canvas()
  draw.line([to_px(x, math.sin(3 * x)) for x in xs], fill=(0, 0, 0), width=2)
  fx, fy = to_px(0.5, math.sin(1.5))
  draw.line([(fx, fy), (fx, fy - 30)], fill=(0, 0, 0), width=2)
  cx, cy = to_px(float(obs[0]), math.sin(3 * float(obs[0])))
  draw.ellipse([cx - 8, cy - 16, cx + 8, cy], fill=(200, 40, 40))
  return np.asarray(image)


def minatar_frame(obs, cell: int = 24) -> np.ndarray:
  """One colour per object channel of a MinAtar grid [10, 10, C] (later channels on top)."""
  grid = np.asarray(obs, bool)
  out = np.full(grid.shape[:2] + (3,), 255, np.uint8)
  for c in range(grid.shape[-1]):
    out[grid[..., c]] = MINATAR_COLOURS[c % len(MINATAR_COLOURS)]
  return np.kron(out, np.ones((cell, cell, 1), np.uint8))


def frame_from_obs(env_name: str, obs) -> np.ndarray | None:
  """A frame for `env_name`'s observation, or None when there is no drawing for it."""
  if env_name.startswith("CartPole"):
    return cartpole_frame(obs)
  if env_name.startswith("Acrobot"):
    return acrobot_frame(obs)
  if env_name.startswith("MountainCar"):
    return mountain_car_frame(obs)
  if env_name.endswith("MinAtar"):
    return minatar_frame(obs)
  return None


def save_gif(frames: Sequence[np.ndarray], path: str | pathlib.Path, fps: int = 30) -> pathlib.Path:
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
  images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                 duration=max(1, int(1000 / fps)))
  return path


def save_strip(frames: Sequence[np.ndarray], path: str | pathlib.Path, count: int = 8,
               labels: Sequence[str] | None = None) -> pathlib.Path:
  """`count` evenly spaced frames side by side, each captioned with its step."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  idx = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).astype(int))
  tiles = [Image.fromarray(np.asarray(frames[i], np.uint8)) for i in idx]
  w, h = tiles[0].size
  gap = 6
  strip = Image.new("RGB", ((w + gap) * len(tiles) - gap, h + 16), (255, 255, 255))
  draw = ImageDraw.Draw(strip)
  for j, (i, tile) in enumerate(zip(idx, tiles)):
    x = j * (w + gap)
    strip.paste(tile, (x, 16))
    draw.rectangle([x, 16, x + w - 1, 16 + h - 1], outline=(160, 160, 160))
    draw.text((x + 4, 2), labels[i] if labels else f"t={i}", fill=(0, 0, 0))
  strip.save(path)
  return path
