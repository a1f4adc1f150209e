"""Convolutional models (curriculum §3b)."""

from dlcore.models.cnn.alexnet import AlexNet
from dlcore.models.cnn.densenet import DenseNet
from dlcore.models.cnn.googlenet import GoogLeNet
from dlcore.models.cnn.lenet import LeNet5
from dlcore.models.cnn.resnet import CifarResNet, ResNet
from dlcore.models.cnn.simple_cnn import SimpleCNN
from dlcore.models.cnn.vgg import VGG

__all__ = ["SimpleCNN", "LeNet5", "AlexNet", "VGG", "ResNet", "CifarResNet", "DenseNet",
           "GoogLeNet"]
