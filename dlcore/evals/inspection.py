"""Model inspection after training, by name in `config.eval.inspect` (project 002 §11.3 error
analysis, exercise 11.2.2 feature maps, 003 §VI.2 Grad-CAM). Each writes PNGs into
`<workdir>/inspect/`:

  confusion_matrix  confusion_matrix.png: rows = true class, over every example of the split
  error_gallery     error_gallery.png: the most confident mistakes, "true t / pred p (conf)"
  feature_maps      feature_maps/NN_<layer>.png: every conv layer's output for the first test image
  grad_cam          grad_cam.png: Grad-CAM heatmaps (last conv) over `eval.inspect_images` test
                    images, half of them mistakes when there are enough

Models without a convolution (MLPs) skip feature_maps and grad_cam with a note in the result.
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.data.preprocess import make_preprocess
from dlcore.errors import ConfigError
from dlcore.metrics import Confusion
from dlcore.registry import closest
from dlcore.viz import (conv_calls, conv_feature_maps, grad_cam, misclassified,
                        plot_confusion_matrix, plot_error_gallery, plot_feature_maps,
                        plot_grad_cam)

INSPECTIONS = ("confusion_matrix", "error_gallery", "feature_maps", "grad_cam")


def check_names(names) -> tuple[str, ...]:
  """The requested inspection names, validated (one ConfigError naming an unknown one)."""
  names = tuple(names or ())
  for name in names:
    if name not in INSPECTIONS:
      hint = closest(name, INSPECTIONS, n=1)
      raise ConfigError(f"Unknown eval.inspect entry {name!r}"
                        + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; valid: {', '.join(INSPECTIONS)}.")
  return names


def _grad_cam_indices(labels: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray,
                      n: int) -> np.ndarray:
  """Up to n//2 of the most confident mistakes, the rest the first correct examples."""
  wrong = misclassified(labels, predictions, probabilities, max_items=n // 2)
  right = np.flatnonzero(labels == predictions)[:n - len(wrong)]
  return np.concatenate([right, wrong]).astype(np.int64)


def write_inspections(names, model, variables: Any, data_config, info, inputs: Any,
                      labels: np.ndarray, outputs: np.ndarray, out_dir: str | pathlib.Path,
                      num_images: int = 8) -> dict[str, Any]:
  """Write the PNGs of `names` for one split.

  `inputs`: the split's raw 'inputs' column (an array, or a lazy column of a streamed split:
  only the pictured rows are read); `labels` and `outputs`: every example's label and logits,
  in order (from `dlcore.evals.split_metrics.predict_split`). Returns {name: [paths] or note}.
  """
  out_dir = pathlib.Path(out_dir)
  labels = np.asarray(labels)
  rows = lambda idx: np.asarray(inputs[np.asarray(idx, np.int64)])
  if outputs.ndim != 2 or outputs.shape[1] < 2:
    raise ConfigError("eval.inspect needs a classifier with one logit per class; this model "
                      f"outputs shape {outputs.shape[1:]}.")
  probabilities = np.asarray(jax.nn.softmax(jnp.asarray(outputs, jnp.float32), axis=-1))
  predictions = probabilities.argmax(-1)
  preprocess = make_preprocess(data_config, info)
  model_input = lambda idx: preprocess({"inputs": jnp.asarray(rows(idx))})["inputs"]
  has_conv = None
  result: dict[str, Any] = {}
  for name in check_names(names):
    if name == "confusion_matrix":
      counts = Confusion.from_batch(jnp.asarray(predictions), jnp.asarray(labels),
                                    outputs.shape[1]).compute()
      result[name] = [str(plot_confusion_matrix(counts, out_dir / "confusion_matrix.png"))]
    elif name == "error_gallery":
      # images are read one by one for the pictured mistakes only (fine for a lazy column)
      result[name] = [str(plot_error_gallery(inputs, labels, predictions,
                                             out_dir / "error_gallery.png",
                                             probabilities=probabilities))]
    else:
      if has_conv is None:
        has_conv = bool(conv_calls(model, variables, model_input(np.arange(1))))
      if not has_conv:
        result[name] = f"skipped: {type(model).__name__} has no convolution"
      elif name == "feature_maps":
        maps = conv_feature_maps(model, variables, model_input(np.arange(1)))
        result[name] = [str(p) for p in plot_feature_maps(maps, rows([0])[0], out_dir / name)]
      else:
        idx = _grad_cam_indices(labels, predictions, probabilities, num_images)
        x = model_input(idx)  # shown as the model sees it (e.g. after an evaluation crop)
        heatmaps, _ = jax.jit(lambda v, x: grad_cam(model, v, x))(variables, x)
        result[name] = [str(plot_grad_cam(np.asarray(x), heatmaps, out_dir / "grad_cam.png",
                                          labels=labels[idx], preds=predictions[idx]))]
  return result
