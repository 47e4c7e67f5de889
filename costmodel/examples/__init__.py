"""Bundled example graphs.

resnet50.onnx: the ONNX model-zoo ResNet-50 v1 "light" graph shipped in the onnx wheel
(onnx/backend/test/data/light/light_resnet50.onnx, Apache-2.0), whose weights are
ConstantOfShape nodes: the full architecture in 80 kB. 4,089,184,256 MACs at 224x224.
"""
