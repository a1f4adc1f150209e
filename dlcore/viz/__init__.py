"""Plots written into a workdir (PNG, matplotlib Agg backend) and model-inspection tools:
training curves (MET-20), conv feature maps (ROB-6), Grad-CAM (ROB-3), confusion matrix and
error gallery (002 §11.3 error analysis)."""

from __future__ import annotations

from dlcore.viz.confusion import plot_confusion_matrix
from dlcore.viz.curves import plot_comparison, plot_curves, plot_weight_histograms
from dlcore.viz.feature_maps import conv_feature_maps, plot_feature_maps
from dlcore.viz.gallery import misclassified, plot_error_gallery
from dlcore.viz.gradcam import conv_calls, grad_cam, plot_grad_cam

__all__ = [
    "conv_calls", "conv_feature_maps", "grad_cam", "misclassified", "plot_comparison",
    "plot_confusion_matrix", "plot_curves", "plot_error_gallery", "plot_feature_maps",
    "plot_grad_cam", "plot_weight_histograms",
]
