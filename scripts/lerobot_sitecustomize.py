# LeRobot lane only: PyPI's torchvision is a CUDA build; beside CPU torch its C++ ops are missing.
# Declaring the two op schemas it registers fakes at import lets it import (FIELD_NOTES).
try:
    import torch

    _lib = torch.library.Library("torchvision", "DEF")
    _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
except Exception:  # noqa: BLE001
    pass
